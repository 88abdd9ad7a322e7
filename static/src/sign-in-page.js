// Signing in without a password (/sign-in, /sign-in/{token}): the person types their
// email; the server sends a link and a 6-digit code (signing in the first time makes
// the account). On the device that reads the email, the link opens a page with one
// Continue button: mail scanners open links before people do, so nothing is redeemed
// until it is pressed. On another device, the code typed here signs in. Either way the
// page then goes to `next` (the room or invite the person came from), else home.

import { ApiError, accountApi } from './api.js'
import { h, replace, showPage } from './dom.js'
import { LANGUAGES, formatRelative, language, setLanguage, t } from './i18n.js'
import { safeNext } from './logic/routes.js'
import { rememberAccount, signedInAccount } from './session.js'

const CODE_DIGITS = 6

/** The page's title in the browser's tab and history. */
export function pageTitle (text) {
  document.title = text ? t('signin.pageTitle', { page: text }) : t('join.brand')
}

/** What to say when a call failed: the server's reason in our words, else its message; offline. */
export function failure (error, messages = {}) {
  if (error instanceof ApiError) {
    if (error.status === 429 || error.code === 'too_many_sign_ins') {
      return error.retryAfter
        ? t('signin.tooManyWait', { when: formatRelative(Date.now() + error.retryAfter * 1000) })
        : t('signin.tooMany')
    }
    return messages[error.code] ? t(messages[error.code]) : error.message
  }
  // fetch() rejects (a TypeError) only when the server could not be reached at all.
  return t('signin.offline')
}

/** The interface's language, picked in the page: `onChange()` draws the page again. */
export function languageChoice (id, onChange) {
  const choice = h('select', {
    id,
    onchange: (event) => {
      setLanguage(event.target.value)
      onChange()
      const again = document.getElementById(id)
      if (again) again.focus()
    }
  }, LANGUAGES.map((l) => h('option', { value: l.code, lang: l.code, selected: l.code === language() }, l.name)))
  return h('p', { class: 'rt-join-language' }, h('label', { for: id }, t('join.language')), choice)
}

/** Mark `form` busy (its submit button disabled and saying `label`), or not. */
function busy (form, button, on, label, idle) {
  form.setAttribute('aria-busy', String(on))
  button.disabled = on
  button.textContent = on ? label : idle
}

/**
 * The email form: Continue asks the server for a sign-in email, then `onSent(email,
 * expiresIn)`. `id` names its field; `submitLabel` its button.
 */
export function emailForm ({ next, onSent, id = 'signin-email', submitLabel = t('signin.continue'), value = '' }) {
  const email = h('input', {
    id,
    name: 'email',
    type: 'email',
    autocomplete: 'email',
    autocapitalize: 'off',
    spellcheck: 'false',
    enterkeyhint: 'send',
    inputmode: 'email',
    maxlength: 254,
    required: true,
    value
  })
  const button = h('button', { type: 'submit', class: 'rt-primary rt-join-submit' }, submitLabel)
  const status = h('p', { class: 'rt-error', role: 'alert' })
  const form = h('form', {
    class: 'rt-signin-form',
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault()
      status.textContent = ''
      const address = email.value.trim()
      if (!address) {
        status.textContent = t('signin.emailMissing')
        email.focus()
        return
      }
      if (!email.validity.valid) {
        status.textContent = t('signin.invalidEmail')
        email.focus()
        return
      }
      busy(form, button, true, t('signin.sending'), submitLabel)
      let sent
      try {
        sent = await accountApi.signIn(address, safeNext(next))
      } catch (error) {
        busy(form, button, false, '', submitLabel)
        status.textContent = failure(error, { invalid_email: 'signin.invalidEmail' })
        email.focus()
        return
      }
      onSent((sent && sent.email) || address, (sent && sent.expires_in) || 900)
    }
  },
  h('label', { for: id }, t('signin.emailLabel')),
  email,
  button,
  status)
  form.focusField = () => email.focus()
  return form
}

/** Signed in: note the account and go on to `next`, else home. */
function signedIn (result, next, go) {
  rememberAccount(result.account)
  go(safeNext(result.next) || safeNext(next) || '/', { replace: true })
}

/**
 * "Check your email": the address it went to, the code field, "Send a new email" and
 * "Use a different email". Drawn into `card`; `restart()` goes back to the email form.
 */
function checkEmailStep (card, { email, expiresIn, next, go, restart }) {
  pageTitle(t('signin.checkTitle'))
  const minutes = Math.max(1, Math.round(expiresIn / 60))
  const code = h('input', {
    id: 'signin-code',
    name: 'code',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9 ]*',
    spellcheck: 'false',
    enterkeyhint: 'go',
    maxlength: 12,
    required: true,
    'aria-describedby': 'signin-check-help',
    oninput: () => {
      // A whole code pasted or filled in by the phone signs in at once.
      if (digits().length === CODE_DIGITS && !form.hasAttribute('data-sent')) form.requestSubmit()
    }
  })
  const digits = () => code.value.replace(/\D/g, '')
  const button = h('button', { type: 'submit', class: 'rt-primary rt-join-submit' }, t('signin.signIn'))
  const alert = h('p', { class: 'rt-error', role: 'alert' })
  const note = h('p', { class: 'rt-signin-note', role: 'status' })

  const form = h('form', {
    class: 'rt-signin-form',
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault()
      alert.textContent = ''
      note.textContent = ''
      const typed = digits()
      if (typed.length !== CODE_DIGITS) {
        alert.textContent = t('signin.codeShape')
        code.focus()
        return
      }
      form.setAttribute('data-sent', '')
      busy(form, button, true, t('signin.signingIn'), t('signin.signIn'))
      try {
        signedIn(await accountApi.redeemCode(email, typed), next, go)
      } catch (error) {
        form.removeAttribute('data-sent')
        busy(form, button, false, '', t('signin.signIn'))
        alert.textContent = failure(error, { wrong_code: 'signin.wrongCode', code_expired: 'signin.codeExpired' })
        code.select()
        code.focus()
      }
    }
  },
  h('label', { for: 'signin-code' }, t('signin.codeLabel')),
  code,
  button,
  alert)

  let resendTimer = null
  const resend = h('button', {
    type: 'button',
    class: 'rt-link',
    onclick: async () => {
      alert.textContent = ''
      note.textContent = ''
      resend.disabled = true
      try {
        await accountApi.signIn(email, safeNext(next))
        note.textContent = t('signin.resent', { email })
        resend.disabled = false
      } catch (error) {
        alert.textContent = failure(error, { invalid_email: 'signin.invalidEmail' })
        // Asked too often: the button waits as long as the server asked.
        const wait = error instanceof ApiError && error.status === 429 ? (error.retryAfter || 60) : 0
        clearTimeout(resendTimer)
        resendTimer = setTimeout(() => { resend.disabled = false }, wait * 1000)
      }
    }
  }, t('signin.resend'))
  const other = h('button', { type: 'button', class: 'rt-link', onclick: () => { clearTimeout(resendTimer); restart() } },
    t('signin.otherEmail'))

  replace(card,
    h('p', { class: 'rt-join-brand' }, t('join.brand')),
    h('h1', { id: 'signin-heading' }, t('signin.checkTitle')),
    h('p', { class: 'rt-signin-sent' }, t('signin.sentTo', { email })),
    h('p', { id: 'signin-check-help', class: 'rt-join-help' }, t('signin.checkHelp', { minutes })),
    form,
    note,
    h('p', { class: 'rt-signin-spam' }, t('signin.noEmail')),
    h('div', { class: 'rt-signin-actions' }, resend, other))
  code.focus()
}

/**
 * Draw the email step into `card`, above `extra` (what the page shows under the form),
 * then the "check your email" step once sent.
 */
function emailStep (card, { next, go, heading, intro, submitLabel, email = '', extra = [] }) {
  const restart = (typed) => emailStep(card, { next, go, heading, intro, submitLabel, email: typed, extra })
  const form = emailForm({
    next,
    value: email,
    submitLabel,
    onSent: (address, expiresIn) => checkEmailStep(card, { email: address, expiresIn, next, go, restart: () => restart(address) })
  })
  replace(card,
    h('p', { class: 'rt-join-brand' }, t('join.brand')),
    h('h1', { id: 'signin-heading' }, heading),
    intro ? h('p', { class: 'rt-join-help' }, intro) : null,
    form,
    extra)
  form.focusField()
  return form
}

/** The sign-in form as part of another page (home, signed out): email, then "check your email". */
export function signInCard ({ next, go, heading = t('signin.title'), intro = t('signin.intro'), extra = [] }) {
  const card = h('section', { class: 'rt-card rt-join rt-signin', 'aria-labelledby': 'signin-heading' })
  emailStep(card, { next, go, heading, intro, extra })
  return card
}

/** /sign-in: the email form, then "check your email" with the code field. */
export function signInPage ({ next, go, redraw }) {
  pageTitle(t('signin.title'))
  const already = signedInAccount()
  const card = h('section', { class: 'rt-card rt-join rt-signin', 'aria-labelledby': 'signin-heading' })
  showPage(h('main', { class: 'rt-center rt-join-page' }, card,
    languageChoice('signin-language', redraw)))
  emailStep(card, {
    next,
    go,
    heading: t('signin.title'),
    intro: t('signin.intro'),
    extra: already
      ? h('p', { class: 'rt-signin-note' }, t('signin.alreadyAs', { name: already.name }), ' ',
        h('a', { href: safeNext(next) || '/' }, t('signin.goOn')))
      : []
  })
}

const LINK_FAILURES = {
  link_expired: ['signin.linkExpiredTitle', 'signin.linkExpiredHelp'],
  link_used: ['signin.linkUsedTitle', 'signin.linkUsedHelp'],
  unknown_link: ['signin.linkUnknownTitle', 'signin.linkUnknownHelp']
}

/** A link that no longer signs in: say why, and ask for a new one right here. */
function deadLink (card, code, { next, go }) {
  const [title, help] = LINK_FAILURES[code]
  pageTitle(t(title))
  const already = signedInAccount()
  emailStep(card, {
    next,
    go,
    heading: t(title),
    intro: t(help),
    submitLabel: t('signin.sendNewLink'),
    extra: already
      ? h('p', { class: 'rt-signin-note' }, t('signin.alreadyAs', { name: already.name }), ' ',
        h('a', { href: safeNext(next) || '/' }, t('signin.goOn')))
      : []
  })
}

/**
 * /sign-in/{token}: one Continue button that redeems the link (never on load), then on
 * to where the sign-in was asked from. An expired, used or unknown link says so and
 * offers a new one.
 */
export function signInLinkPage (token, { next, go }) {
  pageTitle(t('signin.linkTitle'))
  const button = h('button', { type: 'submit', class: 'rt-primary rt-join-submit' }, t('signin.continue'))
  const alert = h('p', { class: 'rt-error', role: 'alert' })
  const form = h('form', {
    class: 'rt-signin-form',
    onsubmit: async (event) => {
      event.preventDefault()
      alert.textContent = ''
      busy(form, button, true, t('signin.signingIn'), t('signin.continue'))
      try {
        signedIn(await accountApi.redeemLink(token), next, go)
      } catch (error) {
        if (error instanceof ApiError && LINK_FAILURES[error.code]) {
          deadLink(card, error.code, { next, go })
          return
        }
        busy(form, button, false, '', t('signin.continue'))
        alert.textContent = failure(error)
        button.focus()
      }
    }
  }, button, alert)
  const card = h('section', { class: 'rt-card rt-join rt-signin', 'aria-labelledby': 'signin-heading' },
    h('p', { class: 'rt-join-brand' }, t('join.brand')),
    h('h1', { id: 'signin-heading' }, t('signin.linkTitle')),
    h('p', { class: 'rt-join-help' }, t('signin.linkHelp')),
    form)
  showPage(h('main', { class: 'rt-center rt-join-page' }, card))
  button.focus()
}
