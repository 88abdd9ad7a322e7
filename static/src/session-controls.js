// The facilitator's session controls in the side panel: timer, spotlight, who may ask
// what, the invite links (invites.js), ending the session.

import { confirmDialog } from './dialogs.js'
import { announce, h } from './dom.js'
import { t } from './i18n.js'
import { InviteLinks } from './invites.js'

export class SessionControls {
  /** settings: the room's; roleName(key): a role as the page names it. */
  constructor ({ api, settings, roleName }) {
    this.api = api
    this.roleName = roleName
    this.invites = new InviteLinks({ api, roleName })
    this.element = this.build(settings)
  }

  /** Whether the invite links are on show (they then follow invite.rotated events). */
  get invitesShown () {
    return this.invites.shown
  }

  build (settings) {
    const fail = (error) => announce(error.message)
    const minutes = h('input', { id: 'timer-minutes', type: 'number', min: 1, max: 1440, value: 10 })
    const observers = h('input', { type: 'checkbox', id: 'setting-observers' })
    observers.checked = settings.observers_can_ask
    const postFirst = h('input', { type: 'checkbox', id: 'setting-post-first' })
    postFirst.checked = settings.post_first_questions
    // Off: invite links take only people who sign in, so a removed person stays out.
    const guests = h('input', { type: 'checkbox', id: 'setting-guests' })
    guests.checked = settings.guests_allowed !== false
    const save = (key, input) => this.api.patch('/settings', { [key]: input.checked }).catch(fail)
    observers.addEventListener('change', () => save('observers_can_ask', observers))
    postFirst.addEventListener('change', () => save('post_first_questions', postFirst))
    guests.addEventListener('change', () => save('guests_allowed', guests))
    this.invitesButton = h('button', {
      type: 'button',
      'aria-expanded': 'false',
      'aria-controls': this.invites.element.id,
      onclick: () => this.toggleInvites()
    }, t('session.inviteLinks'))
    return h('section', { class: 'rt-session', 'aria-label': t('session.controls') },
      h('h2', { class: 'rt-panel-title' }, t('session.title')),
      h('form', {
        class: 'rt-inline',
        onsubmit: (event) => {
          event.preventDefault()
          const seconds = Math.round(Number(minutes.value) * 60)
          this.api.put('/timer', { seconds, label: t('session.timerLabel') }).catch(fail)
        }
      }, h('label', { for: 'timer-minutes' }, t('session.timerMinutes')), minutes,
      h('button', { type: 'submit' }, t('session.start')),
      h('button', { type: 'button', onclick: () => this.api.delete('/timer').catch(fail) }, t('session.stop'))),
      h('div', { class: 'rt-inline' },
        h('button', { type: 'button', onclick: () => this.api.put('/spotlight').catch(fail) }, t('session.spotlight')),
        h('button', { type: 'button', onclick: () => this.api.delete('/spotlight').catch(fail) }, t('session.endSpotlight'))),
      h('label', { class: 'rt-check' }, observers, ' ', t('session.observersAsk')),
      h('label', { class: 'rt-check' }, postFirst, ' ', t('session.postFirst')),
      h('label', { class: 'rt-check' }, guests, ' ', t('session.guestsAllowed')),
      this.invitesButton, this.invites.element,
      h('button', { type: 'button', class: 'rt-danger', onclick: () => this.endSession().catch(fail) }, t('session.end')))
  }

  /** Show the invite links, or hide them if they are on show. */
  toggleInvites () {
    if (this.invites.shown) {
      this.invites.hide()
      this.invitesButton.setAttribute('aria-expanded', 'false')
      return
    }
    this.invitesButton.setAttribute('aria-expanded', 'true')
    this.showInvites().catch((error) => announce(error.message))
  }

  /** Show the invite links (again: once shown, they follow invite.rotated events). */
  showInvites () {
    this.invitesButton.setAttribute('aria-expanded', 'true')
    return this.invites.show()
  }

  async endSession () {
    const confirmed = await confirmDialog({
      title: t('session.endTitle'),
      message: t('session.endMessage'),
      confirmLabel: t('session.end')
    })
    if (!confirmed) return
    const { versions } = await this.api.post('/session/end')
    announce(t('session.ended', { count: versions.length }))
  }
}
