// The people of a room beyond the roster: who joined and whether as a guest (the
// participant list), "Keep your seat" for a guest (the "you" menu), the facilitators'
// People panel (everyone, their roles, remove, invite by email), and what happens
// when someone's role changes (their page reloads in the new role).

import { ApiError } from './api.js'
import { announce, h, replace } from './dom.js'
import { t } from './i18n.js'
import { ROLES, guestTag, roleTitle } from './people.js'
import { abilities } from './logic/roles.js'

// The participant list is read in pages of this many people (the server's maximum).
const LIST_PAGE = 500
// The People panel shows this many people at a time ("Show more" for the next ones).
const PANEL_PAGE = 50
// Someone arrived: the list is read again this long after (arrivals come in bursts).
const REFRESH_DELAY_MS = 600
// Guests who come back are looked up again (they may have kept their seat meanwhile),
// at most this often.
const GUESTS_AGAIN_MS = 15000
// Where the page keeps, across its reload, that this person's role changed.
const ROLE_CHANGED_KEY = 'roundtable:role-changed:'

/** An email address as a person types it: something@something, no spaces. */
function looksLikeEmail (text) {
  return /^[^\s@]+@[^\s@]+$/.test(text)
}

/** What to say when sending an email failed (`messages`: {code: message key}). */
function emailFailure (error, messages) {
  if (error instanceof ApiError) {
    if (messages[error.code]) return t(messages[error.code])
    if (error.status === 429) {
      // Retry-After, when the server gave one, in whole minutes.
      const minutes = error.retryAfter ? Math.max(1, Math.ceil(error.retryAfter / 60)) : 0
      return minutes ? t(messages.too_many_wait, { count: minutes }) : t(messages.too_many)
    }
    return error.message
  }
  return t('people.offline')
}

/**
 * The room's participants by id ({id, name, role, guest}), from
 * GET /participants: read whole at the start, then the newcomers as they arrive in the
 * roster; roles follow participant.role events. `onChange(byId)` after each change.
 */
export class Participants {
  constructor (api, onChange) {
    this.api = api
    this.onChange = onChange
    this.byId = new Map()
    // The last participant read, in order of joining: newcomers come after them.
    this.last = null
    this.present = new Set()
    this.timer = null
    this.whole = false
    this.guestsAt = 0
    this.running = null
  }

  /** Read the whole list (every page). */
  async load () {
    const found = new Map()
    let after = null
    let last = null
    do {
      const page = await this.api.get('/participants?limit=' + LIST_PAGE + (after ? '&after=' + encodeURIComponent(after) : ''))
      for (const person of page.participants) {
        found.set(person.id, person)
        last = person.id
      }
      after = page.next_after
    } while (after)
    this.byId = found
    this.last = last
    this.changed()
  }

  /** Read the people who joined after the last one read. */
  async newcomers () {
    if (!this.last) return this.load()
    let after = this.last
    while (after) {
      const page = await this.api.get('/participants?limit=' + LIST_PAGE + '&after=' + encodeURIComponent(after))
      for (const person of page.participants) {
        this.byId.set(person.id, person)
        this.last = person.id
      }
      after = page.next_after
    }
    this.changed()
  }

  /**
   * The roster changed: someone not known yet arrived (they joined: read the
   * newcomers), or a guest came back (they may have kept their seat: read it all).
   */
  onRoster (rows) {
    const arrived = rows.filter((row) => !this.present.has(row.id))
    this.present = new Set(rows.map((row) => row.id))
    if (arrived.some((row) => !this.byId.has(row.id))) {
      this.soon(false)
    } else if (arrived.some((row) => this.byId.get(row.id).guest) && Date.now() - this.guestsAt > GUESTS_AGAIN_MS) {
      this.guestsAt = Date.now()
      this.soon(true)
    }
  }

  soon (whole) {
    this.whole ||= whole
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      const all = this.whole
      this.whole = false
      // One reading at a time; a later one waits for it.
      this.running = Promise.resolve(this.running)
        .then(() => (all ? this.load() : this.newcomers()))
        .catch(() => { /* The roster goes on without: the next arrival tries again. */ })
    }, REFRESH_DELAY_MS)
  }

  get (id) {
    return this.byId.get(id) || null
  }

  /** A facilitator changed someone's role (participant.role). */
  setRole (id, role) {
    const person = this.byId.get(id)
    if (person) this.byId.set(id, { ...person, role })
    this.changed()
  }

  /** Someone was removed (participant.removed). */
  removed (id) {
    if (this.byId.delete(id)) this.changed()
  }

  /** This person kept their seat: not a guest any more. */
  notGuest (id) {
    const person = this.byId.get(id)
    if (person) this.byId.set(id, { ...person, guest: false })
    this.changed()
  }

  changed () {
    this.onChange(this.byId)
  }
}

// Keep your seat (a guest, in the "you" menu)

/**
 * The "you" menu's part for a guest: "Keep your seat: add your email" opens a small
 * form; once sent, it says to check the email. `onGone()`: this person is no guest
 * (the server said so), the part goes.
 */
export function keepSeat ({ api, onGone }) {
  const formId = 'keep-seat-form'
  const input = h('input', {
    id: 'keep-seat-email',
    type: 'email',
    name: 'email',
    autocomplete: 'email',
    inputmode: 'email',
    autocapitalize: 'off',
    spellcheck: 'false',
    enterkeyhint: 'send',
    required: true,
    'aria-describedby': 'keep-seat-help',
    oninput: () => {
      error.textContent = ''
      input.removeAttribute('aria-invalid')
    }
  })
  const error = h('p', { class: 'rt-error', role: 'alert', id: 'keep-seat-error' })
  const send = h('button', { type: 'submit', class: 'rt-primary' }, t('guest.send'))
  const cancel = h('button', { type: 'button', onclick: () => show(false, true) }, t('common.cancel'))
  const opener = h('button', {
    type: 'button',
    class: 'rt-keep-seat-open',
    'aria-expanded': 'false',
    'aria-controls': formId,
    onclick: () => show(form.hidden)
  }, t('guest.keepSeat'))
  const form = h('form', {
    id: formId,
    class: 'rt-keep-seat-form',
    novalidate: true,
    hidden: true,
    onsubmit: async (event) => {
      event.preventDefault()
      const email = input.value.trim()
      error.textContent = ''
      if (!looksLikeEmail(email)) {
        error.textContent = t('guest.invalidEmail')
        input.setAttribute('aria-invalid', 'true')
        input.focus()
        return
      }
      input.removeAttribute('aria-invalid')
      busy(true)
      let sent
      try {
        sent = await api.post('/participants/me/email', { email })
      } catch (failure) {
        busy(false)
        if (failure instanceof ApiError && failure.code === 'not_a_guest') {
          element.remove()
          onGone()
          return
        }
        error.textContent = emailFailure(failure, {
          invalid_email: 'guest.invalidEmail',
          too_many: 'guest.tooMany',
          too_many_wait: 'guest.tooManyWait'
        })
        input.focus()
        return
      }
      const done = h('div', { class: 'rt-keep-seat-sent', role: 'status', tabindex: '-1' },
        h('p', { class: 'rt-keep-seat-check' }, t('guest.checkEmail')),
        h('p', { class: 'rt-note' }, t('guest.sentTo', { email: (sent && sent.email) || email })))
      replace(element, done)
      done.focus()
    }
  },
  h('label', { for: input.id }, t('guest.email')), input, error,
  h('div', { class: 'rt-keep-seat-actions' }, cancel, send))

  function busy (on) {
    form.setAttribute('aria-busy', String(on))
    send.disabled = on
    input.readOnly = on
    send.textContent = on ? t('guest.sending') : t('guest.send')
  }

  function show (open, refocus = false) {
    form.hidden = !open
    opener.hidden = open
    opener.setAttribute('aria-expanded', String(open))
    if (open) input.focus()
    else if (refocus) opener.focus()
  }

  const element = h('section', { class: 'rt-keep-seat', 'aria-labelledby': 'keep-seat-title' },
    h('p', { class: 'rt-keep-seat-title', id: 'keep-seat-title' }, guestTag(), ' ', t('guest.youAreGuest')),
    h('p', { class: 'rt-note', id: 'keep-seat-help' }, t('guest.keepSeatHelp')),
    opener, form)
  return element
}

// A changed role

/**
 * A facilitator changed this person's role: remember to say so, and load the room
 * again, drawn for the new role.
 */
export function reloadForRole (slug, role) {
  try { sessionStorage.setItem(ROLE_CHANGED_KEY + slug, role) } catch { /* no storage: no notice */ }
  location.reload()
}

/**
 * After such a reload, the notice "Your role is now Facilitator" (once), or null.
 * `title(role)`: a role's name on its own.
 */
export function roleChangedNotice (slug, title) {
  let role
  try {
    role = sessionStorage.getItem(ROLE_CHANGED_KEY + slug)
    sessionStorage.removeItem(ROLE_CHANGED_KEY + slug)
  } catch {
    return null
  }
  if (!role) return null
  const text = t('people.yourRoleNow', { role: title(role) })
  const notice = h('section', { class: 'rt-notice rt-notice-role', role: 'status', 'aria-label': text },
    h('p', { class: 'rt-notice-title' }, text),
    h('div', { class: 'rt-notice-actions' },
      h('button', { type: 'button', onclick: () => notice.remove() }, t('people.dismiss'))))
  return notice
}

// The People panel (facilitators)

let roleDialogs = 0

/**
 * Ask which role `person` gets, and change it. Demoting a facilitator says what they
 * lose before it happens; the only facilitator cannot be demoted (the server says so).
 * Resolves the new role, or null when nothing changed.
 */
function changeRoleDialog ({ api, person, me, vocabulary }) {
  return new Promise((resolve) => {
    const id = `rt-role-title-${++roleDialogs}`
    let answer = null
    const name = `role-${roleDialogs}`
    const choices = ROLES.map((key) => {
      const radio = h('input', { type: 'radio', name, value: key, checked: key === person.role })
      return h('label', { class: 'rt-role-choice' }, radio,
        h('span', { class: 'rt-role-text' },
          h('span', { class: 'rt-role-name' }, roleTitle(vocabulary, key)),
          h('span', { class: 'rt-role-description' }, t('people.roleDescription.' + key))))
    })
    const warning = h('p', { class: 'rt-role-warning', 'aria-live': 'polite' })
    const error = h('p', { class: 'rt-error', role: 'alert' })
    const submit = h('button', { type: 'submit', class: 'rt-primary' }, t('people.saveRole'))
    const chosen = () => form.elements[name].value
    const itsMe = person.id === me.id
    const demotes = (role) => abilities(vocabulary, person.role).moderate && !abilities(vocabulary, role).moderate
    const onChoice = () => {
      const role = chosen()
      const down = demotes(role)
      warning.textContent = down
        ? t(itsMe ? 'people.demoteYourself' : 'people.demoteWarning', { name: person.name, role: roleTitle(vocabulary, role) })
        : ''
      submit.className = down ? 'rt-primary rt-destructive' : 'rt-primary'
      submit.textContent = down ? t('people.demote') : t('people.saveRole')
      error.textContent = ''
    }
    const form = h('form', {
      onchange: onChoice,
      onsubmit: async (event) => {
        event.preventDefault()
        const role = chosen()
        if (role === person.role) {
          dialog.close()
          return
        }
        submit.disabled = true
        error.textContent = ''
        try {
          await api.patch('/participants/' + encodeURIComponent(person.id), { role })
        } catch (failure) {
          submit.disabled = false
          error.textContent = failure instanceof ApiError && failure.code === 'last_facilitator'
            ? t(itsMe ? 'people.lastFacilitatorYou' : 'people.lastFacilitator', { name: person.name })
            : failure instanceof ApiError ? failure.message : t('people.offline')
          return
        }
        answer = role
        dialog.close()
      }
    },
    h('fieldset', { class: 'rt-role-choices' },
      h('legend', {}, t('people.roleLegend', { name: person.name })), choices),
    warning, error,
    h('div', { class: 'rt-dialog-actions' },
      h('button', { type: 'button', onclick: () => dialog.close() }, t('common.cancel')),
      submit))
    const dialog = h('dialog', { class: 'rt-dialog rt-role-dialog', 'aria-labelledby': id },
      h('h2', { id }, itsMe ? t('people.changeYourRole') : t('people.changeRoleTitle', { name: person.name })),
      form)
    document.body.append(dialog)
    dialog.addEventListener('close', () => {
      dialog.remove()
      resolve(answer)
    })
    dialog.showModal()
    form.querySelector('input:checked').focus()
  })
}

/**
 * The People panel: everyone who joined (a page at a time), their role and whether
 * they are a guest; change a role; remove (removal.js's flow, `onRemove(person)`);
 * invite someone by email with a role.
 */
export class PeoplePanel {
  constructor ({ api, me, vocabulary, onRemove }) {
    this.api = api
    this.me = me
    this.vocabulary = vocabulary
    this.onRemove = onRemove
    this.dialog = null
    this.people = []
    this.next = null
  }

  get isOpen () {
    return Boolean(this.dialog)
  }

  open () {
    if (this.dialog) return
    this.list = h('ul', { class: 'rt-members', 'aria-label': t('people.everyone') })
    this.more = h('button', { type: 'button', class: 'rt-members-more', hidden: true, onclick: () => this.loadMore() }, t('people.showMore'))
    this.listStatus = h('p', { class: 'rt-note', role: 'status' }, t('people.loading'))
    this.dialog = h('dialog', { class: 'rt-dialog rt-people-dialog', 'aria-labelledby': 'people-title' },
      h('div', { class: 'rt-people-dialog-head' },
        h('h2', { id: 'people-title' }, t('people.panelTitle')),
        h('button', { type: 'button', class: 'rt-link rt-people-close', onclick: () => this.dialog.close() }, t('people.close'))),
      this.inviteForm(),
      h('h3', { class: 'rt-members-title' }, t('people.everyone')),
      this.listStatus, this.list, this.more)
    this.dialog.addEventListener('close', () => {
      this.dialog.remove()
      this.dialog = null
    })
    document.body.append(this.dialog)
    this.dialog.showModal()
    this.people = []
    this.next = null
    this.loadMore(true)
  }

  async loadMore (first = false) {
    this.more.disabled = true
    try {
      const after = first ? null : this.next
      const page = await this.api.get('/participants?limit=' + PANEL_PAGE + (after ? '&after=' + encodeURIComponent(after) : ''))
      const shown = new Set(this.people.map((p) => p.id))
      this.people = this.people.concat(page.participants.filter((p) => !shown.has(p.id)))
      this.next = page.next_after
      this.listStatus.textContent = ''
      this.render()
      // "Show more": focus goes to the first person added.
      if (!first && page.participants.length) {
        this.list.querySelector(`[data-participant="${CSS.escape(page.participants[0].id)}"] button`)?.focus()
      }
    } catch (error) {
      this.listStatus.textContent = t('people.loadFailed', { reason: error.message })
    } finally {
      if (this.more) this.more.disabled = false
    }
  }

  render () {
    if (!this.dialog) return
    // A redraw keeps focus on the same button of the same person.
    const focused = this.list.contains(document.activeElement) ? document.activeElement : null
    const focusKey = focused && focused.dataset.action
      ? [focused.closest('[data-participant]').dataset.participant, focused.dataset.action]
      : null
    replace(this.list, this.people.map((person) => this.row(person)))
    this.more.hidden = !this.next
    if (focusKey) {
      const again = this.list.querySelector(`[data-participant="${CSS.escape(focusKey[0])}"] [data-action="${focusKey[1]}"]`)
      if (again) again.focus()
      else this.dialog.querySelector('h2').focus()
    }
  }

  row (person) {
    const me = person.id === this.me.id
    const removable = !me && !abilities(this.vocabulary, person.role).moderate
    return h('li', { class: 'rt-member', dataset: { participant: person.id } },
      h('div', { class: 'rt-member-who' },
        h('span', { class: 'rt-member-name' }, me ? t('people.you', { name: person.name }) : person.name),
        person.guest ? [' ', guestTag()] : null,
        h('span', { class: 'rt-member-role' }, roleTitle(this.vocabulary, person.role))),
      h('div', { class: 'rt-member-actions' },
        h('button', {
          type: 'button',
          'aria-haspopup': 'dialog',
          'aria-label': t('people.changeRoleOf', { name: person.name }),
          dataset: { action: 'role' },
          onclick: () => this.changeRole(person)
        }, t('people.changeRole')),
        removable
          ? h('button', {
            type: 'button',
            class: 'rt-danger',
            'aria-haspopup': 'dialog',
            'aria-label': t('people.removeNamed', { name: person.name }),
            dataset: { action: 'remove' },
            onclick: () => this.onRemove(person)
          }, t('people.remove'))
          : null))
  }

  async changeRole (person) {
    const role = await changeRoleDialog({ api: this.api, person, me: this.me, vocabulary: this.vocabulary })
    if (!role) return
    this.setRole(person.id, role)
    announce(t('people.roleChanged', { name: person.name, role: roleTitle(this.vocabulary, role) }))
  }

  /** Someone's role changed (here, or by another facilitator). */
  setRole (id, role) {
    if (!this.dialog) return
    this.people = this.people.map((p) => (p.id === id ? { ...p, role } : p))
    this.render()
  }

  /** Someone was removed. */
  removed (id) {
    if (!this.dialog) return
    this.people = this.people.filter((p) => p.id !== id)
    this.render()
  }

  inviteForm () {
    const email = h('input', {
      id: 'invite-email',
      type: 'email',
      name: 'email',
      autocomplete: 'off',
      inputmode: 'email',
      autocapitalize: 'off',
      spellcheck: 'false',
      required: true,
      'aria-describedby': 'invite-help',
      oninput: () => {
        error.textContent = ''
        email.removeAttribute('aria-invalid')
      }
    })
    const role = h('select', { id: 'invite-role', name: 'role' },
      ROLES.map((key) => h('option', { value: key, selected: key === 'member' }, roleTitle(this.vocabulary, key))))
    const send = h('button', { type: 'submit', class: 'rt-primary' }, t('people.inviteSend'))
    const error = h('p', { class: 'rt-error', role: 'alert' })
    const sent = h('p', { class: 'rt-invite-sent', role: 'status' })
    const form = h('form', {
      class: 'rt-invite-email',
      novalidate: true,
      'aria-labelledby': 'invite-email-title',
      onsubmit: async (event) => {
        event.preventDefault()
        const address = email.value.trim()
        error.textContent = ''
        sent.textContent = ''
        if (!looksLikeEmail(address)) {
          error.textContent = t('people.invalidEmail')
          email.setAttribute('aria-invalid', 'true')
          email.focus()
          return
        }
        email.removeAttribute('aria-invalid')
        send.disabled = true
        send.textContent = t('people.inviteSending')
        try {
          const answer = await this.api.post('/invitations', { email: address, role: role.value })
          sent.textContent = t('people.inviteSent', {
            email: (answer && answer.email) || address,
            role: roleTitle(this.vocabulary, (answer && answer.role) || role.value)
          })
          email.value = ''
        } catch (failure) {
          error.textContent = emailFailure(failure, {
            invalid_email: 'people.invalidEmail',
            too_many: 'people.tooManyInvites',
            too_many_wait: 'people.tooManyInvitesWait'
          })
        } finally {
          send.disabled = false
          send.textContent = t('people.inviteSend')
        }
        email.focus()
      }
    },
    h('h3', { id: 'invite-email-title' }, t('people.inviteTitle')),
    h('p', { class: 'rt-note', id: 'invite-help' }, t('people.inviteHelp')),
    h('div', { class: 'rt-invite-email-fields' },
      h('div', { class: 'rt-invite-email-address' }, h('label', { for: email.id }, t('people.inviteEmail')), email),
      h('div', { class: 'rt-invite-email-role' }, h('label', { for: role.id }, t('people.inviteRole')), role),
      send),
    error, sent)
    return form
  }
}
