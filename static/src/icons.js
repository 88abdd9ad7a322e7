// The interface's icons: small line drawings on a 24-unit grid, built as SVG elements
// (no markup parsed). Each is decorative (aria-hidden): the button around it carries the
// accessible name. Strokes use currentColor, so icons follow the text colour and theme.

const SVG = 'http://www.w3.org/2000/svg'

// Each icon: a list of shapes, [tag, attributes]. Paths are stroked, never filled,
// unless a shape says otherwise.
const ICONS = {
  bold: [['path', { d: 'M7 4.5h5.5a3.75 3.75 0 0 1 0 7.5H7zM7 12h6.5a3.75 3.75 0 0 1 0 7.5H7z' }]],
  italic: [['path', { d: 'M10 4.5h8M6 19.5h8M14.5 4.5l-5 15' }]],
  heading: [['path', { d: 'M5 5v14M15 5v14M5 12h10M18.5 12.5l2-1.5v8' }]],
  list: [
    ['path', { d: 'M9.5 6.5h11M9.5 12h11M9.5 17.5h11' }],
    ['circle', { cx: 4.75, cy: 6.5, r: 1.25, fill: 'currentColor' }],
    ['circle', { cx: 4.75, cy: 12, r: 1.25, fill: 'currentColor' }],
    ['circle', { cx: 4.75, cy: 17.5, r: 1.25, fill: 'currentColor' }]
  ],
  numbered: [['path', { d: 'M10 6.5h10.5M10 12h10.5M10 17.5h10.5M4 4.5h1.5v4.5M4 9h3M3.75 14.5h3l-3 4h3' }]],
  checklist: [['path', { d: 'M3.5 6.5l2 2 3.5-3.5M3.5 15.5l2 2 3.5-3.5M12 7h8.5M12 16h8.5' }]],
  quote: [
    ['circle', { cx: 7, cy: 9.5, r: 2.5, fill: 'currentColor' }],
    ['circle', { cx: 16, cy: 9.5, r: 2.5, fill: 'currentColor' }],
    ['path', { d: 'M9.5 9.5c0 4-1.75 6.5-4.75 7.5M18.5 9.5c0 4-1.75 6.5-4.75 7.5' }]
  ],
  link: [['path', { d: 'M10.5 13.5a4 4 0 0 0 5.66 0l3.18-3.18a4 4 0 0 0-5.66-5.66l-1.2 1.2M13.5 10.5a4 4 0 0 0-5.66 0l-3.18 3.18a4 4 0 0 0 5.66 5.66l1.2-1.2' }]],
  undo: [['path', { d: 'M8.5 14.5l-5-5 5-5M3.5 9.5h11a5.5 5.5 0 0 1 0 11h-4' }]],
  redo: [['path', { d: 'M15.5 14.5l5-5-5-5M20.5 9.5h-11a5.5 5.5 0 0 0 0 11h4' }]],
  comment: [['path', { d: 'M4.5 6A1.5 1.5 0 0 1 6 4.5h12.5A1.5 1.5 0 0 1 20 6v9.5a1.5 1.5 0 0 1-1.5 1.5H9.5l-5 3.5z' }]],
  ask: [
    ['circle', { cx: 12, cy: 12, r: 9 }],
    ['path', { d: 'M9.25 9.5a2.85 2.85 0 0 1 5.5 1c0 1.9-2.75 2.4-2.75 4M12 17.25v.01' }]
  ],
  export: [['path', { d: 'M12 3.5v11M7.5 10l4.5 4.5 4.5-4.5M4 15.5v3a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-3' }]],
  lock: [
    ['rect', { x: 4.5, y: 10.5, width: 15, height: 10, rx: 2 }],
    ['path', { d: 'M8 10.5V7.5a4 4 0 0 1 8 0v3' }]
  ],
  unlock: [
    ['rect', { x: 4.5, y: 10.5, width: 15, height: 10, rx: 2 }],
    ['path', { d: 'M8 10.5V7.5a4 4 0 0 1 7.75-1.4' }]
  ],
  versions: [['path', { d: 'M4 12a8 8 0 1 0 2.35-5.65L4 8.7M4 4v4.7h4.7M12 7.5V12l3 2' }]],
  // A person beside lines of text: who wrote what.
  authors: [
    ['circle', { cx: 7.5, cy: 7.5, r: 3 }],
    ['path', { d: 'M2.5 16.5a5 5 0 0 1 10 0M15 6h6.5M15 10.5h6.5M15 15h6.5M2.5 20h19' }]
  ],
  // A person with a speech bubble: who follows a document and comments on it.
  mentor: [
    ['circle', { cx: 9, cy: 9, r: 3.5 }],
    ['path', { d: 'M3 20.5a6 6 0 0 1 12 0M15 3.5h5.5a1 1 0 0 1 1 1V8a1 1 0 0 1-1 1H18l-2 1.75V9h-1a1 1 0 0 1-1-1V4.5a1 1 0 0 1 1-1z' }]
  ],
  more: [
    ['circle', { cx: 5.5, cy: 12, r: 1.6, fill: 'currentColor' }],
    ['circle', { cx: 12, cy: 12, r: 1.6, fill: 'currentColor' }],
    ['circle', { cx: 18.5, cy: 12, r: 1.6, fill: 'currentColor' }]
  ],
  markdown: [
    ['rect', { x: 2.5, y: 5.5, width: 19, height: 13, rx: 2 }],
    ['path', { d: 'M6 15V9l2.5 3L11 9v6M16 9v6M13.75 12.75L16 15l2.25-2.25' }]
  ],
  html: [['path', { d: 'M8.5 7l-5 5 5 5M15.5 7l5 5-5 5M13.5 5l-3 14' }]],
  print: [
    ['path', { d: 'M7 9V3.5h10V9M7 17.5H5a1.5 1.5 0 0 1-1.5-1.5v-5.5A1.5 1.5 0 0 1 5 9h14a1.5 1.5 0 0 1 1.5 1.5V16a1.5 1.5 0 0 1-1.5 1.5h-2' }],
    ['rect', { x: 7, y: 14, width: 10, height: 6.5, rx: 0.5 }]
  ]
}

/** The icon `name` as an <svg> element (aria-hidden, 20 px unless `size` says). */
export function icon (name, size = 20) {
  const shapes = ICONS[name]
  if (!shapes) throw new Error(`no icon ${name}`)
  const svg = document.createElementNS(SVG, 'svg')
  const attrs = {
    viewBox: '0 0 24 24',
    width: size,
    height: size,
    fill: 'none',
    stroke: 'currentColor',
    'stroke-width': 1.9,
    'stroke-linecap': 'round',
    'stroke-linejoin': 'round',
    'aria-hidden': 'true',
    focusable: 'false',
    class: 'rt-icon'
  }
  for (const [key, value] of Object.entries(attrs)) svg.setAttribute(key, String(value))
  for (const [tag, shape] of shapes) {
    const el = document.createElementNS(SVG, tag)
    for (const [key, value] of Object.entries(shape)) el.setAttribute(key, String(value))
    svg.append(el)
  }
  return svg
}
