// What a typed link address becomes: only web (http, https) and email (mailto) links
// are made, so that a link in a shared document can never run script (javascript:,
// data:). A bare "example.org" is taken as https://, a bare "ana@example.org" as mailto:.

const SCHEME = /^([a-z][a-z0-9+.-]*):/i
const ALLOWED = ['http:', 'https:', 'mailto:']

/** The link target for `text` as typed, or null when it is empty or not allowed. */
export function linkTarget (text) {
  const value = String(text ?? '').trim()
  if (!value || /\s/.test(value)) return null
  const scheme = SCHEME.exec(value)
  // "localhost:8000/x" and "example.org:8080" name a port, not a scheme.
  const hasScheme = scheme && !/^\d/.test(value.slice(scheme[0].length))
  let candidate = value
  if (!hasScheme) {
    candidate = /^[^/@]+@[^/@]+\.[^/@]+$/.test(value) ? 'mailto:' + value : 'https://' + value
  }
  let url
  try {
    url = new URL(candidate)
  } catch {
    return null
  }
  if (!ALLOWED.includes(url.protocol)) return null
  if (url.protocol === 'mailto:') return url.pathname.includes('@') ? candidate : null
  return url.hostname ? url.href : null
}
