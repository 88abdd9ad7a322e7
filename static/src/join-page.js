// The join page (/join/{code}): pick a display name, enter the room.

import { ApiError, join } from './api.js'
import { h, showPage } from './dom.js'
import { roomPath } from './logic/routes.js'
import { saveSession } from './session.js'

const JOIN_ERRORS = {
  unknown_invite: 'This invite link is unknown or was replaced. Ask your facilitator for a new one.',
  room_full: 'This room is full. Ask your facilitator to make room for you.',
  too_many_joins: 'Too many people are joining right now. Try again in a minute.'
}

export function joinPage (code) {
  const name = h('input', { id: 'name', name: 'name', autocomplete: 'nickname', maxlength: 64, required: true })
  const status = h('p', { class: 'rt-error', role: 'alert' })
  const form = h('form', {
    class: 'rt-card rt-join',
    onsubmit: async (event) => {
      event.preventDefault()
      status.textContent = ''
      try {
        const joined = await join(code, name.value)
        saveSession(joined)
        location.assign(roomPath(joined.room))
      } catch (error) {
        status.textContent = error instanceof ApiError && JOIN_ERRORS[error.code]
          ? JOIN_ERRORS[error.code]
          : error.message
      }
    }
  },
  h('h1', {}, 'Join the session'),
  h('p', {}, 'Pick the name the others will see. You can ask questions anonymously later.'),
  h('label', { for: 'name' }, 'Your display name'), name,
  h('button', { type: 'submit', class: 'rt-primary' }, 'Join'),
  status)
  showPage(h('main', { class: 'rt-center' }, form))
  name.focus()
}
