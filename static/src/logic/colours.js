// The server's participant colours (rooms/presence.py), as CSS classes: the strict
// Content-Security-Policy allows no inline style attributes. The page does not paint the
// server's values as they are: class rt-cN shows colour N in a shade per theme
// (--person-N in styles/base.css) on which a caret's name label reads at AA contrast.

export const COLOURS = [
  '#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#e377c2', '#8c564b',
  '#ff7f0e', '#17becf', '#7f7f7f', '#bcbd22', '#393b79', '#637939'
]

/** The grey of someone the roster does not list (yet). */
export const NO_COLOUR = '#7f7f7f'

/** The CSS class (rt-c0 … rt-c11, or rt-c-none) that shows server colour `colour`. */
export function colourClass (colour) {
  const index = COLOURS.indexOf(String(colour || '').toLowerCase())
  return index < 0 ? 'rt-c-none' : 'rt-c' + index
}

/** The colour the roster gives participant `id`, or NO_COLOUR. */
export function colourOf (roster, id) {
  const row = roster.find((r) => r.id === id)
  return row ? row.colour : NO_COLOUR
}
