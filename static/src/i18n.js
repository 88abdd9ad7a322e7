// The interface's language: every string the page shows comes from a message
// catalogue (messages/<lang>.js) through t(); dates and numbers go through Intl in the
// same language. The language is the one picked in the page (kept in localStorage),
// else the first of the browser's languages we ship, else English.

import en from './messages/en.js'
import es from './messages/es.js'

const catalogues = { en, es }
const STORAGE_KEY = 'roundtable:language'

/** The languages the interface ships, each named in its own language. */
export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'es', name: 'Español' }
]

/** The shipped language that best matches `wanted` (a list of BCP 47 tags), or English. */
export function pickLanguage (wanted) {
  for (const tag of wanted) {
    const base = String(tag).toLowerCase().split('-')[0]
    if (base in catalogues) return base
  }
  return 'en'
}

function stored () {
  try { return localStorage.getItem(STORAGE_KEY) } catch { return null }
}

let current = pickLanguage([stored(), ...(globalThis.navigator ? navigator.languages : [])].filter(Boolean))

/** The interface's language code ("en", "es"). */
export function language () {
  return current
}

/** Switch language (remembered in this browser); the caller redraws the page. */
export function setLanguage (code) {
  if (!(code in catalogues)) return
  current = code
  try { localStorage.setItem(STORAGE_KEY, code) } catch { /* private mode: this page only */ }
  if (globalThis.document) document.documentElement.lang = code
}

const plurals = {}
function pluralOf (count) {
  plurals[current] ||= new Intl.PluralRules(current)
  return plurals[current].select(count)
}

/**
 * The message `key` in the interface's language, with `{name}` placeholders filled from
 * `params`. A message may be plural forms ({ one, other, ... }) chosen by `params.count`,
 * whose `{count}` is formatted for the language.
 */
export function t (key, params = {}) {
  let message = catalogues[current][key] ?? en[key]
  if (message === undefined) throw new Error(`no message ${key}`)
  if (typeof message === 'object') {
    message = message[pluralOf(params.count)] ?? message.other
  }
  return message.replace(/\{(\w+)\}/g, (_, name) => {
    const value = params[name]
    if (value === undefined) return ''
    return typeof value === 'number' ? formatNumber(value) : String(value)
  })
}

/** Whether the catalogues have a message `key` (for names that may come untranslated). */
export function hasMessage (key) {
  return key in en
}

/** A number in the interface's language. */
export function formatNumber (value, options) {
  return new Intl.NumberFormat(current, options).format(value)
}

/** A clock time (hours and minutes) in the interface's language. */
export function formatTime (date) {
  return new Intl.DateTimeFormat(current, { hour: '2-digit', minute: '2-digit' }).format(new Date(date))
}

/** A date and time in the interface's language. */
export function formatDateTime (date) {
  return new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(date))
}

/** "3 minutes ago" in the interface's language. */
export function formatRelative (date, now = Date.now()) {
  const seconds = Math.round((new Date(date).getTime() - now) / 1000)
  const format = new Intl.RelativeTimeFormat(current, { numeric: 'auto' })
  const units = [['day', 86400], ['hour', 3600], ['minute', 60]]
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit)
  }
  return format.format(seconds, 'second')
}

if (globalThis.document) document.documentElement.lang = current
