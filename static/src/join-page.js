// The join page (/join/{code}): pick a display name, enter the room. It is the first
// screen people see, often on a phone on a slow network, so it loads without the editor
// (see main.js) and says what is happening while the join is under way.
//
// Someone signed in (as this browser last heard) joins as their account in one click,
// and gets the same seat on every device; "Not you?" signs out and shows the name form.
// Guests may sign in first instead, coming back here after.

import { ApiError, accountApi, join } from './api.js'
import { h, showPage } from './dom.js'
import { LANGUAGES, language, setLanguage, t } from './i18n.js'
import { roomPath, signInPath } from './logic/routes.js'
import { forgetAccount, saveSession, signedInAccount } from './session.js'

const JOIN_ERRORS = {
  unknown_invite: 'join.unknownInvite',
  room_full: 'join.roomFull',
  too_many_joins: 'join.tooManyJoins',
  removed: 'join.removed',
  sign_in_required: 'join.signInRequired'
}

/** What to tell someone whose join failed with `error`. */
function failure (error) {
  if (error instanceof ApiError) {
    return JOIN_ERRORS[error.code] ? t(JOIN_ERRORS[error.code]) : error.message
  }
  // fetch() rejects (a TypeError) only when the server could not be reached at all.
  return t('join.offline')
}

/**
 * Show the join page for invite `code`. `prepare()` is called once the person starts
 * typing and again on Join, to load what the room page needs meanwhile. Once joined,
 * the session is saved and `onJoined(joined)` opens the room (by default, by loading
 * its address). `redraw` ({ typed, signedOut }) is for drawing the page again in
 * another language, keeping the name typed so far, or after signing out (said so).
 * Signed in, the page offers to join as the account instead of the name form.
 */
export function joinPage (code, options = {}, redraw = null) {
  const {
    prepare = () => null,
    onJoined = (joined) => location.assign(roomPath(joined.room))
  } = options
  const account = signedInAccount()
  if (account) return accountJoinPage(code, account, options, redraw)
  const name = h('input', {
    id: 'name',
    name: 'name',
    autocomplete: 'nickname',
    autocapitalize: 'words',
    spellcheck: 'false',
    enterkeyhint: 'go',
    maxlength: 64,
    required: true,
    'aria-describedby': 'join-help',
    oninput: () => prepare()
  })
  if (redraw) name.value = redraw.typed
  const button = h('button', { type: 'submit', class: 'rt-primary rt-join-submit' }, t('join.submit'))
  const status = h('p', { class: 'rt-error', role: 'alert' })

  const busy = (on) => {
    form.setAttribute('aria-busy', String(on))
    button.disabled = on
    name.readOnly = on
    button.textContent = on ? t('join.joining') : t('join.submit')
  }

  const form = h('form', {
    class: 'rt-card rt-join',
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault()
      status.textContent = ''
      const chosen = name.value.trim()
      if (!chosen) {
        status.textContent = t('join.nameMissing')
        name.focus()
        return
      }
      busy(true)
      prepare()
      let joined
      try {
        joined = await join(code, chosen)
      } catch (error) {
        busy(false)
        status.textContent = failure(error)
        name.focus()
        return
      }
      saveSession(joined)
      onJoined(joined)
    }
  },
  h('p', { class: 'rt-join-brand' }, t('join.brand')),
  h('h1', {}, t('join.title')),
  h('p', { id: 'join-help', class: 'rt-join-help' }, t('join.intro')),
  h('label', { for: 'name' }, t('join.nameLabel')),
  name,
  button,
  status,
  redraw && redraw.signedOut ? h('p', { class: 'rt-join-note', role: 'status' }, t('join.signedOut')) : null,
  h('p', { class: 'rt-join-account' },
    h('a', { href: signInPath('/join/' + encodeURIComponent(code)) }, t('join.signInInstead'))))

  const { languages, choice } = languagePicker(() => joinPage(code, options, { typed: name.value }))
  showPage(h('main', { class: 'rt-center rt-join-page' }, form, languages))
  if (redraw && !redraw.signedOut) choice.focus()
  else name.focus()
}

/** The language picker under the card; `redraw()` draws the page again in the language picked. */
function languagePicker (redraw) {
  const choice = h('select', {
    id: 'join-language',
    onchange: (event) => {
      setLanguage(event.target.value)
      redraw()
    }
  }, LANGUAGES.map((l) => h('option', { value: l.code, lang: l.code, selected: l.code === language() }, l.name)))
  const languages = h('p', { class: 'rt-join-language' },
    h('label', { for: 'join-language' }, t('join.language')), choice)
  return { languages, choice }
}

/** The join page for someone signed in: "Join as <name>", one click; "Not you? Sign out". */
function accountJoinPage (code, account, options, redraw) {
  const {
    prepare = () => null,
    onJoined = (joined) => location.assign(roomPath(joined.room))
  } = options
  const asGuest = () => joinPage(code, options, { typed: '', signedOut: true })
  const label = t('join.joinAs', { name: account.name || account.email })
  const button = h('button', {
    type: 'submit',
    class: 'rt-primary rt-join-submit',
    // The room page is fetched once the person heads for the button (not on load).
    onpointerenter: () => prepare(),
    onpointerdown: () => prepare()
  }, label)
  const status = h('p', { class: 'rt-error', role: 'alert' })
  const busy = (on) => {
    form.setAttribute('aria-busy', String(on))
    button.disabled = on
    button.textContent = on ? t('join.joining') : label
  }
  const signOut = h('button', {
    type: 'button',
    class: 'rt-link rt-join-signout',
    onclick: async () => {
      signOut.disabled = true
      try {
        await accountApi.signOut()
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 401)) {
          signOut.disabled = false
          status.textContent = failure(error)
          return
        }
      }
      forgetAccount({ signOut: true })
      asGuest()
    }
  }, t('join.signOut'))

  const form = h('form', {
    class: 'rt-card rt-join rt-join-signed-in',
    onsubmit: async (event) => {
      event.preventDefault()
      status.textContent = ''
      busy(true)
      prepare()
      let joined
      try {
        joined = await accountApi.join(code)
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          // Signed out meanwhile (elsewhere, or the session ended): join as a guest instead.
          forgetAccount()
          asGuest()
          return
        }
        busy(false)
        status.textContent = failure(error)
        button.focus()
        return
      }
      saveSession(joined)
      onJoined(joined)
    }
  },
  h('p', { class: 'rt-join-brand' }, t('join.brand')),
  h('h1', {}, t('join.title')),
  h('p', { id: 'join-help', class: 'rt-join-help' }, t('join.accountIntro')),
  button,
  status,
  h('p', { class: 'rt-join-account' }, t('join.notYou'), ' ', signOut))

  const { languages, choice } = languagePicker(() => joinPage(code, options, { typed: '' }))
  showPage(h('main', { class: 'rt-center rt-join-page' }, form, languages))
  if (redraw) choice.focus()
  else button.focus()
}
