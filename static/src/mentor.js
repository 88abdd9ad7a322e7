// A document's mentor (docs/accounts.md, "Mentors from outside the cohort"): the
// dialog in which the document's creator or a facilitator sees who mentors it, stops
// that, chooses someone in the room, or invites someone from outside the cohort by
// email; the toolbar's "Mentor" command that opens it (beside Export, Lock and
// Versions, in "More" when the row is full); and what the page shows a mentor from
// outside the cohort: a banner above the document, and no questions to the room.

import { doc } from './api.js'
import { announce, h, replace } from './dom.js'
import { t } from './i18n.js'
import { invitationFailure, looksLikeEmail, mayChooseMentor, mentorCandidates, mentorOf } from './logic/mentors.js'
import { Toolbar } from './toolbar.js'

// The participant list is read in pages of this many people (the server's maximum).
const LIST_PAGE = 500

/** The banner above a document for a mentor from outside the cohort ({kind, text}, as notices.js shows it). */
export function mentorBanner () {
  return { kind: 'mentor', text: t('mentor.banner') }
}

/**
 * The room's toolbar (toolbar.js) with the "Mentor" command for whoever may choose the
 * open document's mentor, and without "Ask" for someone who does not see the room.
 */
export class RoomToolbar extends Toolbar {
  /** As Toolbar's, and: seesRoom (false for a mentor from outside the cohort); onMentor(name). */
  constructor (options) {
    super(options)
    this.seesRoom = options.seesRoom !== false
    this.onMentor = options.onMentor
  }

  tools (current) {
    const tools = super.tools(current).filter((tool) => this.seesRoom || tool.id !== 'ask')
    if (this.onMentor && mayChooseMentor(current, this.me)) {
      const name = current.name
      tools.push({
        id: 'mentor',
        icon: 'mentor',
        label: t('mentor.action'),
        hint: t('mentor.actionHint'),
        group: 'document',
        drop: 4,
        run: () => this.onMentor(name)
      })
    }
    return tools
  }
}

/** A form's row: the labelled field (`field`) and its button side by side, stacked on a phone. */
function fieldRow (label, field, button) {
  return h('div', { class: 'rt-mentor-fields' },
    h('div', { class: 'rt-mentor-field' }, h('label', { for: field.id }, label), field),
    button)
}

export class MentorDialog {
  /**
   * api: the room's RoomApi; me: {id, can}; people(): the participants known by id
   * ({name, role}); roleName(key): a role's name within a line; onChanged(document):
   * the server answered with the document's new state (its list entry).
   */
  constructor ({ api, me, people, roleName, onChanged }) {
    this.api = api
    this.me = me
    this.people = people
    this.roleName = roleName
    this.onChanged = onChanged
    this.dialog = null
    this.info = null
    this.candidates = []
  }

  /** The name of the document whose dialog is open, or null. */
  get documentName () {
    return this.dialog ? this.info.name : null
  }

  /** Open the dialog for `info` (the document's list entry). */
  show (info) {
    if (this.dialog) this.dialog.close()
    this.info = info
    this.candidates = []
    const title = h('h2', { id: 'mentor-title', tabindex: '-1' }, t('mentor.title', { name: info.name }))
    this.now = h('div', { class: 'rt-mentor-now-body' })
    this.nowError = h('p', { class: 'rt-error', role: 'alert' })
    this.nowStatus = h('p', { class: 'rt-mentor-done', role: 'status' })
    const dialog = h('dialog', { class: 'rt-dialog rt-mentor-dialog', 'aria-labelledby': 'mentor-title' },
      title,
      h('p', { class: 'rt-note' }, t('mentor.intro')),
      h('section', { class: 'rt-mentor-part rt-mentor-now', 'aria-labelledby': 'mentor-now-title' },
        h('h3', { id: 'mentor-now-title' }, t('mentor.nowTitle')),
        this.now, this.nowError, this.nowStatus),
      this.chooseForm(),
      this.inviteForm(),
      h('div', { class: 'rt-dialog-actions' },
        h('button', { type: 'button', onclick: () => dialog.close() }, t('mentor.close'))))
    this.dialog = dialog
    dialog.addEventListener('close', () => {
      dialog.remove()
      if (this.dialog === dialog) this.dialog = null
    })
    document.body.append(dialog)
    this.drawNow()
    dialog.showModal()
    title.focus()
    this.loadCandidates(dialog)
  }

  /** The document changed (an event, or the server's answer): what the dialog shows follows. */
  update (info) {
    if (!this.dialog || !info || info.name !== this.info.name) return
    const changed = info.mentor_id !== this.info.mentor_id
    this.info = info
    if (changed) this.drawNow()
  }

  /** The participants known changed (a mentor's name became known): draw again. */
  refresh () {
    if (this.dialog) this.drawNow()
  }

  /** Everyone known by id: the room's list, and the people read for the choice. */
  known () {
    const byId = new Map(this.people())
    for (const person of this.candidates) byId.set(person.id, person)
    return byId
  }

  /** Who mentors the document now, and "Stop mentoring". */
  drawNow () {
    const mentor = mentorOf(this.info, this.known(), this.me.id)
    if (!mentor) {
      replace(this.now, h('p', { class: 'rt-mentor-current' }, t('mentor.none')))
      return
    }
    const text = mentor.you
      ? t('mentor.currentYou')
      : t('mentor.current', { name: mentor.name || t('mentor.someone') })
    const stop = h('button', {
      type: 'button',
      class: 'rt-mentor-stop',
      onclick: () => this.setMentor(null, stop)
    }, t('mentor.stop'))
    replace(this.now, h('div', { class: 'rt-mentor-current-row' },
      h('p', { class: 'rt-mentor-current' }, text), stop))
  }

  /** PATCH the document's mentor (`id`, or null to stop); says how it went in the "now" part or the choice's. */
  async setMentor (id, button, { error = this.nowError, status = this.nowStatus } = {}) {
    for (const el of [this.nowError, this.nowStatus, this.chooseError, this.chooseStatus]) el.textContent = ''
    const name = this.info.name
    const label = button.textContent
    button.disabled = true
    if (id === null) button.textContent = t('mentor.stopping')
    try {
      const { document: updated } = await this.api.patch(doc(name), { mentor: id })
      this.onChanged(updated)
      this.update(updated)
      const mentor = mentorOf(updated, this.known(), this.me.id)
      const said = mentor
        ? t('mentor.chosen', { name: mentor.name || t('mentor.someone'), document: updated.name })
        : t('mentor.stopped', { document: updated.name })
      status.textContent = said
      announce(said)
      if (id === null) this.dialog?.querySelector('#mentor-person')?.focus()
    } catch (failure) {
      const { key, count } = invitationFailure(failure)
      error.textContent = t('mentor.' + key, { count, reason: failure.message })
    } finally {
      if (button.isConnected) {
        button.disabled = false
        button.textContent = label
      }
    }
  }

  /** Someone in the room, picked from the participant list. */
  chooseForm () {
    this.select = h('select', {
      id: 'mentor-person',
      disabled: true,
      onchange: () => { this.chooseError.textContent = '' }
    },
      h('option', { value: '' }, t('mentor.loading')))
    this.chooseError = h('p', { class: 'rt-error', role: 'alert' })
    this.chooseStatus = h('p', { class: 'rt-mentor-done', role: 'status' })
    const choose = h('button', { type: 'submit' }, t('mentor.choose'))
    return h('form', {
      class: 'rt-mentor-part rt-mentor-choose',
      'aria-labelledby': 'mentor-choose-title',
      onsubmit: async (event) => {
        event.preventDefault()
        if (!this.select.value) {
          this.chooseStatus.textContent = ''
          this.chooseError.textContent = t('mentor.pickFirst')
          this.select.focus()
          return
        }
        await this.setMentor(this.select.value, choose, { error: this.chooseError, status: this.chooseStatus })
      }
    },
    h('h3', { id: 'mentor-choose-title' }, t('mentor.chooseTitle')),
    fieldRow(t('mentor.person'), this.select, choose),
    this.chooseError, this.chooseStatus)
  }

  /** Read the room's participants (every page) into the choice. */
  async loadCandidates (dialog) {
    const people = []
    try {
      let after = null
      do {
        const page = await this.api.get('/participants?limit=' + LIST_PAGE + (after ? '&after=' + encodeURIComponent(after) : ''))
        people.push(...page.participants)
        after = page.next_after
      } while (after)
    } catch (failure) {
      if (this.dialog !== dialog) return
      const { key, count } = invitationFailure(failure)
      this.chooseError.textContent = t('mentor.' + key, { count, reason: failure.message })
      return
    }
    if (this.dialog !== dialog) return
    this.candidates = mentorCandidates(people, this.info)
    const options = this.candidates.map((person) => h('option', { value: person.id },
      t(person.id === this.me.id ? 'mentor.optionYou' : 'mentor.option', { name: person.name, role: this.roleName(person.role) })))
    replace(this.select, h('option', { value: '' }, t('mentor.pick')), options)
    this.select.disabled = !options.length
    if (!options.length) this.chooseStatus.textContent = t('mentor.nobody')
    this.drawNow()
  }

  /** Someone from outside the cohort, invited by email. */
  inviteForm () {
    const error = h('p', { class: 'rt-error', role: 'alert' })
    const sent = h('p', { class: 'rt-mentor-done', role: 'status' })
    const email = h('input', {
      id: 'mentor-email',
      type: 'email',
      name: 'email',
      autocomplete: 'off',
      inputmode: 'email',
      autocapitalize: 'off',
      spellcheck: 'false',
      required: true,
      'aria-describedby': 'mentor-invite-help',
      oninput: () => {
        error.textContent = ''
        email.removeAttribute('aria-invalid')
      }
    })
    const send = h('button', { type: 'submit', class: 'rt-primary' }, t('mentor.send'))
    return h('form', {
      class: 'rt-mentor-part rt-mentor-invite',
      novalidate: true,
      'aria-labelledby': 'mentor-invite-title',
      onsubmit: async (event) => {
        event.preventDefault()
        const address = email.value.trim()
        error.textContent = ''
        sent.textContent = ''
        if (!looksLikeEmail(address)) {
          error.textContent = t('mentor.invalidEmail')
          email.setAttribute('aria-invalid', 'true')
          email.focus()
          return
        }
        send.disabled = true
        send.textContent = t('mentor.sending')
        try {
          const answer = await this.api.post(doc(this.info.name) + '/mentor/invitation', { email: address })
          sent.textContent = t('mentor.sent', { email: (answer && answer.email) || address })
          announce(sent.textContent)
          email.value = ''
        } catch (failure) {
          const { key, count } = invitationFailure(failure)
          if (key === 'invalidEmail') email.setAttribute('aria-invalid', 'true')
          error.textContent = t('mentor.' + key, { count, reason: failure.message })
        } finally {
          send.disabled = false
          send.textContent = t('mentor.send')
        }
        email.focus()
      }
    },
    h('h3', { id: 'mentor-invite-title' }, t('mentor.inviteTitle')),
    h('p', { class: 'rt-note', id: 'mentor-invite-help' }, t('mentor.inviteHelp')),
    fieldRow(t('mentor.email'), email, send),
    error, sent)
  }
}
