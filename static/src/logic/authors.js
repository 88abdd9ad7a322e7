// Who wrote what. The text of a Yjs document in runs, each written by one Yjs client,
// at the editor's positions; the clients' owners (GET …/authors) make them people's.
// And the comparison of two versions (GET …/diff) laid out as the blocks to show.

class Mismatch extends Error {}

/**
 * The runs of text in `fragment` (the Y.XmlFragment the editor shows) as
 * [{from, to, client}] in editor positions, in order, neighbours by one client merged.
 * isText(type): whether a shared type is a Y.XmlText; nodeOf(type): the editor node
 * ({nodeSize, isLeaf}) showing an element, or null. Returns null when the document
 * and the editor disagree (an edit not yet shown on both sides), or when `size` (the
 * editor document's content size) is given and the runs end elsewhere.
 */
export function textRuns (fragment, { isText, nodeOf, size = null }) {
  const runs = []
  const push = (from, to, client) => {
    const last = runs[runs.length - 1]
    if (last && last.to === from && last.client === client) last.to = to
    else runs.push({ from, to, client })
  }
  // Walks the children of `parent`, whose content starts at `pos`; returns where it ends.
  const walk = (parent, pos) => {
    for (let item = parent._start; item !== null; item = item.right) {
      if (item.deleted || !item.countable) continue
      const type = item.content && item.content.type
      if (!type) throw new Mismatch()
      if (isText(type)) {
        for (let piece = type._start; piece !== null; piece = piece.right) {
          if (piece.deleted || !piece.countable) continue
          push(pos, pos + piece.length, piece.id.client)
          pos += piece.length
        }
        continue
      }
      const node = nodeOf(type)
      if (!node) throw new Mismatch()
      if (!node.isLeaf && walk(type, pos + 1) !== pos + node.nodeSize - 1) throw new Mismatch()
      pos += node.nodeSize
    }
    return pos
  }
  try {
    const end = walk(fragment, 0)
    return size === null || end === size ? runs : null
  } catch (error) {
    if (error instanceof Mismatch) return null
    throw error
  }
}

/** The participant who owns Yjs client `client` in `clients` (decimal keys), or null. */
export function ownerOf (clients, client) {
  const key = String(client)
  return Object.hasOwn(clients, key) && typeof clients[key] === 'string' ? clients[key] : null
}

/** `runs` as [{from, to, participant}] (null: unknown), neighbours by one person merged. */
export function authorSpans (runs, clients) {
  const spans = []
  for (const { from, to, client } of runs) {
    const participant = ownerOf(clients, client)
    const last = spans[spans.length - 1]
    if (last && last.to === from && last.participant === participant) last.to = to
    else spans.push({ from, to, participant })
  }
  return spans
}

/** The client ids in `runs` that `clients` does not know and `asked` (a Set) does not hold. */
export function newClients (runs, clients, asked = new Set()) {
  const found = new Set()
  for (const { client } of runs) {
    if (ownerOf(clients, client) === null && !asked.has(client)) found.add(client)
  }
  return [...found].sort((a, b) => a - b)
}

/** The person `participant` is in `people` ([{participant_id, name, colour}]), or null. */
export function personOf (people, participant) {
  if (participant === null || participant === undefined) return null
  return people.find((p) => p.participant_id === participant) || null
}

/**
 * Who wrote the text of `spans`: [{participant, name, colour, chars}], most text
 * first; the text of unknown authors (participant null, name null) comes last.
 */
export function legend (spans, people) {
  const chars = new Map()
  for (const { from, to, participant } of spans) {
    const person = personOf(people, participant)
    const key = person ? person.participant_id : null
    chars.set(key, (chars.get(key) || 0) + (to - from))
  }
  const rows = [...chars].map(([participant, count]) => {
    const person = personOf(people, participant)
    return { participant, name: person ? person.name : null, colour: person ? person.colour : null, chars: count }
  })
  return rows.sort((a, b) => (a.participant === null) - (b.participant === null) ||
    b.chars - a.chars || String(a.name).localeCompare(String(b.name)))
}

const LISTS = { bulletList: 'ul', orderedList: 'ol', taskList: 'ul' }

/**
 * A diff's blocks ([{tag, level, path, change, runs}]) as what to show, in order:
 * {kind: 'block', block} or {kind: 'list', tag: 'ul' | 'ol', items: [{block, depth}]}
 * for neighbouring blocks inside lists (depth 1 for a list's own items). Every block
 * gets `quote`: whether it sits in a blockquote.
 */
export function diffSections (blocks) {
  const sections = []
  for (const block of blocks) {
    const path = Array.isArray(block.path) ? block.path : []
    const lists = path.filter((name) => name in LISTS)
    const shown = { ...block, quote: path.includes('blockquote') }
    if (!lists.length) {
      sections.push({ kind: 'block', block: shown })
      continue
    }
    const tag = LISTS[lists[0]]
    const last = sections[sections.length - 1]
    const item = { block: shown, depth: lists.length }
    if (last && last.kind === 'list' && last.tag === tag) last.items.push(item)
    else sections.push({ kind: 'list', tag, items: [item] })
  }
  return sections
}

/** A block's runs with neighbours of one change by one author joined. */
export function mergeRuns (runs) {
  const merged = []
  for (const run of runs) {
    const last = merged[merged.length - 1]
    if (last && last.change === run.change && last.author === run.author) last.text += run.text
    else merged.push({ ...run })
  }
  return merged
}

/** Whether a diff changes anything. */
export function hasChanges (diff) {
  return diff.blocks.some((block) => block.change !== 'same' ||
    block.runs.some((run) => run.change !== 'same'))
}

/** A diff's people, those who changed most first. */
export function changedBy (people) {
  return [...people].sort((a, b) => (b.added + b.removed) - (a.added + a.removed) ||
    a.name.localeCompare(b.name))
}

/** The heading element for a heading block of `level` in a view whose own title is an h2. */
export function headingTag (level) {
  const n = Number.isInteger(level) ? level : 1
  return 'h' + Math.min(6, Math.max(3, n + 2))
}
