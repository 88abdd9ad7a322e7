// Building DOM nodes. User text only ever goes in as text nodes: nothing here parses HTML.

import { formatDateTime, formatTime } from './i18n.js'

/**
 * h('button', {class: 'x', onclick: fn, 'aria-label': 'Close'}, 'text', child, ...)
 * Attributes starting with "on" become listeners; true/false toggle boolean attributes.
 */
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value)
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value)
    } else if (value === true) {
      el.setAttribute(key, '')
    } else {
      el.setAttribute(key, String(value))
    }
  }
  append(el, children)
  return el
}

/** Append `children` (nodes, text, nested arrays; null and false are skipped) to `el`. */
export function append (el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}

/** Remove everything inside `el`. */
export function clear (el) {
  while (el.firstChild) el.firstChild.remove()
  return el
}

/** Replace everything inside `el` by `children`. */
export function replace (el, ...children) {
  clear(el)
  return append(el, children)
}

/** The element whose id is `id`, or null. */
export function byId (id) {
  return document.getElementById(id)
}

/** Show a page: these nodes replace everything in #app. */
export function showPage (...children) {
  return replace(byId('app'), ...children)
}

/** A <time> showing the clock time of `iso`, the full date and time on hover, in the interface's language. */
export function time (iso) {
  return h('time', { datetime: iso, title: formatDateTime(iso) }, formatTime(iso))
}

/** A short-lived message in the page's live region, read out by screen readers. */
export function announce (text) {
  const region = byId('announcer')
  if (region) region.textContent = text
}
