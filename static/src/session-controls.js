// The facilitator's session controls in the side panel: timer, spotlight, who may ask
// what, invite links, ending the session.

import { announce, h, replace } from './dom.js'
import { inviteLink } from './logic/routes.js'

export class SessionControls {
  /** settings: the room's; roleName(key): a role as the page names it. */
  constructor ({ api, settings, roleName }) {
    this.api = api
    this.roleName = roleName
    this.invitesShown = false
    this.invites = h('ul', { class: 'rt-invites' })
    this.element = this.build(settings)
  }

  build (settings) {
    const minutes = h('input', { id: 'timer-minutes', type: 'number', min: 1, max: 1440, value: 10 })
    const observers = h('input', { type: 'checkbox', id: 'setting-observers' })
    observers.checked = settings.observers_can_ask
    const postFirst = h('input', { type: 'checkbox', id: 'setting-post-first' })
    postFirst.checked = settings.post_first_questions
    const save = (key, input) => this.api.patch('/settings', { [key]: input.checked }).catch((e) => announce(e.message))
    observers.addEventListener('change', () => save('observers_can_ask', observers))
    postFirst.addEventListener('change', () => save('post_first_questions', postFirst))
    return h('section', { class: 'rt-session', 'aria-label': 'Session controls' },
      h('h2', { class: 'rt-panel-title' }, 'Session'),
      h('form', {
        class: 'rt-inline',
        onsubmit: (event) => {
          event.preventDefault()
          this.api.put('/timer', { seconds: Math.round(Number(minutes.value) * 60), label: 'Session timer' }).catch((e) => announce(e.message))
        }
      }, h('label', { for: 'timer-minutes' }, 'Timer (minutes)'), minutes, h('button', { type: 'submit' }, 'Start'),
      h('button', { type: 'button', onclick: () => this.api.delete('/timer') }, 'Stop')),
      h('div', { class: 'rt-inline' },
        h('button', { onclick: () => this.api.put('/spotlight') }, 'Spotlight me'),
        h('button', { onclick: () => this.api.delete('/spotlight') }, 'End spotlight')),
      h('label', { class: 'rt-check' }, observers, ' Observers may ask questions'),
      h('label', { class: 'rt-check' }, postFirst, ' New questions are post-first'),
      h('button', { onclick: () => this.showInvites() }, 'Invite links'), this.invites,
      h('button', {
        class: 'rt-danger',
        onclick: async () => {
          if (!confirm('End the session? Every document is saved as a version.')) return
          const { versions } = await this.api.post('/session/end')
          announce(`Session ended: ${versions.length} version(s) saved.`)
        }
      }, 'End session'))
  }

  /** Show the invite links (again: once shown, they follow invite.rotated events). */
  async showInvites () {
    this.invitesShown = true
    const data = await this.api.get('/invites')
    replace(this.invites, Object.entries(data.invites).map(([role, code]) => h('li', {},
      h('span', {}, this.roleName(role), ': '),
      h('input', { readonly: true, value: inviteLink(location.origin, code), 'aria-label': `Invite link for ${this.roleName(role)}s` }),
      h('button', { onclick: async () => { await this.api.post(`/invites/${role}/rotate`); this.showInvites() } }, 'New link'))))
  }
}
