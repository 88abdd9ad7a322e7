// Modal questions in the page's own style (a <dialog>), in place of the browser's
// confirm() and prompt(): a title, what will happen, and the buttons to decide.

import { h } from './dom.js'
import { t } from './i18n.js'

let opened = 0

function modal (title, body, actions) {
  const id = `rt-dialog-title-${++opened}`
  const dialog = h('dialog', { class: 'rt-dialog', 'aria-labelledby': id },
    h('h2', { id }, title), body, h('div', { class: 'rt-dialog-actions' }, actions))
  document.body.append(dialog)
  dialog.addEventListener('close', () => dialog.remove())
  return dialog
}

/**
 * Ask to confirm an action: resolves true when `confirmLabel` is pressed, false when the
 * dialog is cancelled (the Cancel button, Escape). `destructive` styles the action as
 * one that cannot be undone.
 */
export function confirmDialog ({ title, message, confirmLabel, destructive = false }) {
  return new Promise((resolve) => {
    let answer = false
    const cancel = h('button', { type: 'button', onclick: () => dialog.close() }, t('common.cancel'))
    const ok = h('button', {
      type: 'button',
      class: destructive ? 'rt-primary rt-destructive' : 'rt-primary',
      onclick: () => { answer = true; dialog.close() }
    }, confirmLabel)
    const dialog = modal(title, h('p', {}, message), [cancel, ok])
    dialog.addEventListener('close', () => resolve(answer))
    dialog.showModal()
    cancel.focus()
  })
}

/**
 * Ask for one line of text: resolves the trimmed text when `confirmLabel` is pressed
 * (or Enter), null when cancelled. `type` is the input's type ("text", "url").
 */
export function promptDialog ({ title, label, confirmLabel, value = '', type = 'text', placeholder = '' }) {
  return new Promise((resolve) => {
    let answer = null
    const input = h('input', { id: `rt-prompt-${opened + 1}`, type, value, placeholder, autocomplete: 'off' })
    const form = h('form', {
      method: 'dialog',
      onsubmit: (event) => {
        event.preventDefault()
        answer = input.value.trim()
        dialog.close()
      }
    }, h('label', { for: input.id }, label), input,
    h('div', { class: 'rt-dialog-actions' },
      h('button', { type: 'button', onclick: () => dialog.close() }, t('common.cancel')),
      h('button', { type: 'submit', class: 'rt-primary' }, confirmLabel)))
    const dialog = modal(title, form, [])
    dialog.querySelector(':scope > .rt-dialog-actions').remove()
    dialog.addEventListener('close', () => resolve(answer))
    dialog.showModal()
    input.focus()
  })
}

/**
 * Ask to confirm an action that cannot be undone by typing `expected` (an email
 * address, a name): `confirmLabel` stays disabled until what is typed matches (case and
 * surrounding spaces aside). `message` is one paragraph or several. Resolves true when
 * confirmed, false when cancelled.
 */
export function typedConfirmDialog ({ title, message, label, expected, confirmLabel }) {
  return new Promise((resolve) => {
    let answer = false
    const id = `rt-typed-${opened + 1}`
    const matches = () => input.value.trim().toLowerCase() === String(expected).trim().toLowerCase()
    const input = h('input', {
      id,
      type: 'text',
      autocomplete: 'off',
      autocapitalize: 'off',
      spellcheck: 'false',
      oninput: () => { ok.disabled = !matches() }
    })
    const ok = h('button', { type: 'submit', class: 'rt-primary rt-destructive', disabled: true }, confirmLabel)
    const form = h('form', {
      method: 'dialog',
      onsubmit: (event) => {
        event.preventDefault()
        if (!matches()) return
        answer = true
        dialog.close()
      }
    }, [message].flat().map((text) => h('p', {}, text)),
    h('label', { for: id }, label), input,
    h('div', { class: 'rt-dialog-actions' },
      h('button', { type: 'button', onclick: () => dialog.close() }, t('common.cancel')),
      ok))
    const dialog = modal(title, form, [])
    dialog.querySelector(':scope > .rt-dialog-actions').remove()
    dialog.addEventListener('close', () => resolve(answer))
    dialog.showModal()
    input.focus()
  })
}
