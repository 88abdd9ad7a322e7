// Removing someone from the room (facilitators): confirm, optionally replace the invite
// link of their role so that they cannot simply join again, and say what happened.

import { announce, h, replace } from './dom.js'
import { inviteLink } from './logic/routes.js'

/** row: the roster's {id, name, role}; roleName(key): a role as the page names it. */
export function removeDialog ({ api, row, roleName }) {
  const rotate = h('input', { type: 'checkbox', id: 'remove-rotate-invite' })
  const status = h('p', { class: 'rt-error', role: 'alert' })
  const body = h('div', { class: 'rt-dialog-body' })
  const dialog = h('dialog', { class: 'rt-dialog rt-remove', 'aria-labelledby': 'remove-title' },
    h('h2', { id: 'remove-title' }, `Remove ${row.name} from the room?`), body)

  const done = h('button', { type: 'button', class: 'rt-primary', onclick: () => dialog.close() }, 'Done')

  const confirmStep = () => replace(body,
    h('p', {}, `${row.name}’s connections close at once and their access ends.`),
    h('label', { class: 'rt-check rt-option', for: rotate.id }, rotate,
      h('span', {}, `Also replace the ${roleName(row.role)} invite link so they cannot rejoin — everyone who has not joined yet needs the new link`)),
    status,
    h('div', { class: 'rt-dialog-actions' },
      h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
      h('button', { type: 'button', class: 'rt-primary rt-destructive', onclick: remove }, 'Remove')))

  const outcome = (invite) => {
    if (invite) {
      const link = h('input', {
        id: 'remove-new-link',
        readonly: true,
        value: inviteLink(location.origin, invite.code),
        onfocus: (event) => event.target.select()
      })
      replace(body,
        h('p', { role: 'status' }, `${row.name} was removed. The ${roleName(invite.role)} invite link was replaced: the old one no longer works.`),
        h('label', { for: link.id }, `New ${roleName(invite.role)} invite link — share it with everyone who has not joined yet`), link,
        h('div', { class: 'rt-dialog-actions' }, done))
      announce(`${row.name} was removed and the ${roleName(invite.role)} invite link was replaced.`)
    } else {
      replace(body,
        h('p', { role: 'status' }, `${row.name} was removed. The ${roleName(row.role)} invite link still works, so they could join again with it.`),
        h('div', { class: 'rt-dialog-actions' }, done))
      announce(`${row.name} was removed.`)
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
