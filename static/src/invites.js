// The room's invite links in the facilitator's session controls: each link in full, a
// Copy button that says it copied (or selects the link where the clipboard is out of
// reach), a QR code that opens large for a projector, and "New link" only once the
// facilitator confirmed that the current link stops working.

import { confirmDialog } from './dialogs.js'
import { announce, h } from './dom.js'
import { t } from './i18n.js'
import { inviteLink } from './logic/routes.js'
import { qrCode } from './qr.js'

const COPIED_MS = 2500

let dialogs = 0

/** Put `text` on the clipboard; false when the page may not (no clipboard, refused). */
async function toClipboard (text) {
  if (!navigator.clipboard || !window.isSecureContext) return false
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    return false
  }
}

/** Show `link`'s QR code large, for a room to scan it from a projector. */
export async function showQrDialog (link, roleLabel) {
  const id = `rt-qr-title-${++dialogs}`
  const figure = h('div', { class: 'rt-qr-large' })
  const close = h('button', { type: 'button', class: 'rt-primary', onclick: () => dialog.close() }, t('invites.close'))
  const dialog = h('dialog', { class: 'rt-dialog rt-qr-dialog', 'aria-labelledby': id },
    h('h2', { id }, t('invites.qrTitle', { role: roleLabel })),
    figure,
    h('p', { class: 'rt-qr-link' }, link),
    h('p', { class: 'rt-note' }, t('invites.qrHelp')),
    h('div', { class: 'rt-dialog-actions' }, close))
  // A click on the backdrop (outside the dialog's box) closes it too.
  dialog.addEventListener('click', (event) => { if (event.target === dialog) dialog.close() })
  dialog.addEventListener('close', () => dialog.remove())
  document.body.append(dialog)
  dialog.showModal()
  close.focus()
  try {
    figure.append(await qrCode(link, t('invites.qrImage', { link })))
  } catch {
    figure.append(h('p', { class: 'rt-error' }, t('invites.qrFailed')))
  }
  return dialog
}

/** One invite link: its role, the link, Copy, its QR code and New link. */
class InviteRow {
  constructor ({ role, roleLabel, onReplace }) {
    this.role = role
    this.roleLabel = roleLabel
    this.link = ''
    this.copiedTimer = null
    const heading = `rt-invite-${role}-heading`
    this.field = h('textarea', {
      class: 'rt-invite-link',
      readonly: true,
      rows: 3,
      spellcheck: 'false',
      'aria-label': t('invites.linkLabel', { role: roleLabel })
    })
    this.qr = h('button', {
      type: 'button',
      class: 'rt-qr-thumb',
      'aria-label': t('invites.showQr', { role: roleLabel }),
      onclick: () => showQrDialog(this.link, roleLabel)
    })
    this.copyButton = h('button', { type: 'button', class: 'rt-invite-copy', onclick: () => this.copy() },
      h('span', { class: 'rt-copied-mark', 'aria-hidden': 'true' }), h('span', {}, t('invites.copy')))
    this.note = h('p', { class: 'rt-invite-note', role: 'status' })
    this.element = h('li', { class: 'rt-invite' },
      h('div', { role: 'group', 'aria-labelledby': heading },
        h('div', { class: 'rt-invite-head' },
          h('h3', { id: heading, class: 'rt-invite-role' }, t('invites.heading', { role: roleLabel })), this.qr),
        this.field,
        h('div', { class: 'rt-invite-actions' }, this.copyButton,
          h('button', { type: 'button', class: 'rt-invite-new', onclick: () => onReplace(this) }, t('invites.newLink'))),
        this.note))
  }

  /** Show `link` (a new one replaces the QR code too). */
  async setLink (link) {
    if (link === this.link) return
    this.link = link
    this.field.value = link
    try {
      const svg = await qrCode(link)
      if (this.link !== link) return
      this.qr.replaceChildren(svg)
      // The link the code shows now.
      this.qr.dataset.link = link
    } catch {
      this.qr.hidden = true
    }
  }

  async copy () {
    clearTimeout(this.copiedTimer)
    if (await toClipboard(this.link)) {
      this.copyButton.classList.add('rt-copied')
      this.copyButton.lastChild.textContent = t('invites.copied')
      this.note.textContent = ''
      announce(t('invites.copiedAnnounce', { role: this.roleLabel }))
      this.copiedTimer = setTimeout(() => {
        this.copyButton.classList.remove('rt-copied')
        this.copyButton.lastChild.textContent = t('invites.copy')
      }, COPIED_MS)
    } else {
      // No clipboard here: the link is selected for the keyboard's or the device's Copy.
      this.field.focus()
      this.field.select()
      this.note.textContent = t('invites.selected')
    }
  }

  say (text) {
    this.note.textContent = text
  }
}

/** The list of invite links, kept current while shown. */
export class InviteLinks {
  /** api: the room's; roleName(key): a role as the page names it. */
  constructor ({ api, roleName }) {
    this.api = api
    this.roleName = roleName
    this.shown = false
    this.rows = new Map()
    this.element = h('ul', { class: 'rt-invite-list', id: 'rt-invite-list', 'aria-label': t('session.inviteLinks'), hidden: true })
  }

  /** Show the links as the server has them now (rows stay, so focus does too). */
  async show () {
    this.shown = true
    const { invites } = await this.api.get('/invites')
    if (!this.shown) return
    for (const [role, code] of Object.entries(invites)) {
      let row = this.rows.get(role)
      if (!row) {
        row = new InviteRow({ role, roleLabel: this.roleName(role), onReplace: (r) => this.replace(r) })
        this.rows.set(role, row)
        this.element.append(row.element)
      }
      row.setLink(inviteLink(location.origin, code))
    }
    this.element.hidden = false
  }

  hide () {
    this.shown = false
    this.element.hidden = true
  }

  /** Replace a role's link, once the facilitator confirmed that the current one stops working. */
  async replace (row) {
    const confirmed = await confirmDialog({
      title: t('invites.replaceTitle', { role: row.roleLabel }),
      message: t('invites.replaceMessage'),
      confirmLabel: t('invites.replaceConfirm'),
      destructive: true
    })
    if (!confirmed) return
    try {
      await this.api.post(`/invites/${encodeURIComponent(row.role)}/rotate`)
      await this.show()
      row.say(t('invites.replaced', { role: row.roleLabel }))
      row.field.focus()
    } catch (error) {
      row.say(error.message)
    }
  }
}
