// QR codes of links, drawn as SVG elements (the page's CSP allows no inline styles; the
// colours come from the stylesheet). The encoder, qrcode-generator, is loaded the first
// time a code is drawn.

const SVG = 'http://www.w3.org/2000/svg'
// The light margin around the code, in modules, that the QR standard asks for.
const QUIET_ZONE = 4

let encoder = null

function loadEncoder () {
  encoder ||= import('qrcode-generator').then((module) => module.default)
  return encoder
}

/** The dark modules of `qr` as one SVG path, a run of modules in a row at a time. */
function modulesPath (qr) {
  const count = qr.getModuleCount()
  const parts = []
  for (let row = 0; row < count; row++) {
    let col = 0
    while (col < count) {
      if (!qr.isDark(row, col)) {
        col++
        continue
      }
      const start = col
      while (col < count && qr.isDark(row, col)) col++
      const run = col - start
      parts.push(`M${start + QUIET_ZONE} ${row + QUIET_ZONE}h${run}v1h-${run}z`)
    }
  }
  return parts.join('')
}

/**
 * An <svg> of the QR code of `text` (byte mode, error correction M, the smallest version
 * that holds it), with its quiet zone. With a `label` it is an image of that name;
 * without, it is hidden from assistive technology (the control around it names it).
 */
export async function qrCode (text, label = '') {
  const qrcode = await loadEncoder()
  const qr = qrcode(0, 'M')
  qr.addData(text, 'Byte')
  qr.make()
  const size = qr.getModuleCount() + 2 * QUIET_ZONE
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`)
  svg.setAttribute('class', 'rt-qr')
  svg.setAttribute('shape-rendering', 'crispEdges')
  svg.dataset.modules = String(qr.getModuleCount())
  if (label) {
    svg.setAttribute('role', 'img')
    svg.setAttribute('aria-label', label)
  } else {
    svg.setAttribute('aria-hidden', 'true')
    svg.setAttribute('focusable', 'false')
  }
  const light = document.createElementNS(SVG, 'rect')
  light.setAttribute('class', 'rt-qr-light')
  light.setAttribute('width', String(size))
  light.setAttribute('height', String(size))
  const dark = document.createElementNS(SVG, 'path')
  dark.setAttribute('class', 'rt-qr-dark')
  dark.setAttribute('d', modulesPath(qr))
  svg.append(light, dark)
  return svg
}
