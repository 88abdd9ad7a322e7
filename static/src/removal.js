// Removing someone from the room (facilitators): confirm, optionally replace the invite
// link of their role so that they cannot simply join again, and say what happened.

import { announce, h, replace } from './dom.js'
import { t } from './i18n.js'
import { inviteLink } from './logic/routes.js'

/** row: the roster's {id, name, role}; roleName(key): a role as the page names it. */
export function removeDialog ({ api, row, roleName }) {
  const rotate = h('input', { type: 'checkbox', id: 'remove-rotate-invite' })
  const status = h('p', { class: 'rt-error', role: 'alert' })
  const body = h('div', { class: 'rt-dialog-body' })
  const dialog = h('dialog', { class: 'rt-dialog rt-remove', 'aria-labelledby': 'remove-title' },
    h('h2', { id: 'remove-title' }, t('removal.title', { name: row.name })), body)

  const done = h('button', { type: 'button', class: 'rt-primary', onclick: () => dialog.close() }, t('removal.done'))

  const confirmStep = () => replace(body,
    h('p', {}, t('removal.what', { name: row.name })),
    h('label', { class: 'rt-check rt-option', for: rotate.id }, rotate,
      h('span', {}, t('removal.offerNewLink', { role: roleName(row.role) }))),
    status,
    h('div', { class: 'rt-dialog-actions' },
      h('button', { type: 'button', onclick: () => dialog.close() }, t('common.cancel')),
      h('button', { type: 'button', class: 'rt-primary rt-destructive', onclick: remove }, t('removal.remove'))))

  const outcome = (invite) => {
    if (invite) {
      const link = h('input', {
        id: 'remove-new-link',
        readonly: true,
        value: inviteLink(location.origin, invite.code),
        onfocus: (event) => event.target.select()
      })
      replace(body,
        h('p', { role: 'status' }, t('removal.removedNewLink', { name: row.name, role: roleName(invite.role) })),
        h('label', { for: link.id }, t('removal.newLink', { role: roleName(invite.role) })), link,
        h('div', { class: 'rt-dialog-actions' }, done))
      announce(t('removal.removedAnnounceNewLink', { name: row.name, role: roleName(invite.role) }))
    } else {
      replace(body,
        h('p', { role: 'status' }, t('removal.removedSameLink', { name: row.name, role: roleName(row.role) })),
        h('div', { class: 'rt-dialog-actions' }, done))
      announce(t('removal.removedAnnounce', { name: row.name }))
    }
    done.focus()
  }

  async function remove (event) {
    const button = event.currentTarget
    button.disabled = true
    status.textContent = ''
    try {
      const path = '/participants/' + encodeURIComponent(row.id)
      const result = rotate.checked ? await api.call('DELETE', path, { rotate_invite: true }) : await api.delete(path)
      outcome(result && result.invite)
    } catch (error) {
      status.textContent = error.message
      button.disabled = false
    }
  }

  confirmStep()
  document.body.append(dialog)
  dialog.addEventListener('close', () => dialog.remove())
  dialog.showModal()
  return dialog
}
