// Which toolbar buttons fit in one row: the rest go to the "More" menu. Buttons sit in
// groups (a wider gap between groups); each button says when it gives way, and some
// never do (Comment and Ask, the room's main actions). Buttons give way in their order
// until the row fits; then any that went earlier and fit in the room left come back.

/**
 * Fit `tools` ([{width, group, drop}], in row order) into `available` pixels.
 * `drop` ranks the buttons that may move to the menu (1 goes first); 0 never moves.
 * `gap` separates buttons of a group, `groupGap` groups; `more` is the width of the
 * More button, shown (at the end, after a group gap) once anything has moved.
 * Returns { shown: [boolean per tool], more: boolean }.
 */
export function fitTools (tools, available, { gap = 0, groupGap = 0, more = 0 } = {}) {
  const shown = tools.map(() => true)
  const width = (withMore) => {
    let total = 0
    let groups = 0
    let previous = null
    tools.forEach((tool, i) => {
      if (!shown[i]) return
      total += tool.width
      if (previous === null) groups = 1
      else if (tool.group === previous) total += gap
      else { total += groupGap; groups++ }
      previous = tool.group
    })
    if (withMore) total += more + (groups ? groupGap : 0)
    return total
  }
  if (width(false) <= available) return { shown, more: false }
  const order = tools.map((_, i) => i)
    .filter((i) => tools[i].drop > 0)
    .sort((a, b) => tools[a].drop - tools[b].drop)
  const dropped = []
  for (const i of order) {
    shown[i] = false
    dropped.push(i)
    if (width(true) <= available) break
  }
  // What gave way last may leave room for a narrower one that went before it.
  for (const i of dropped.reverse().slice(1)) {
    shown[i] = true
    if (width(true) > available) shown[i] = false
  }
  return { shown, more: true }
}
