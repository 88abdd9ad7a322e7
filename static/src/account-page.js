// The account page (/account): the name the others see (editable), the email, the
// devices signed in (each can be signed out, or all at once), a download of everything
// the person wrote, and deleting the account after typing its email.

import { ApiError, accountApi } from './api.js'
import { confirmDialog, typedConfirmDialog } from './dialogs.js'
import { announce, h, replace, showPage } from './dom.js'
import { formatDateTime, formatRelative, t } from './i18n.js'
import { signInPath } from './logic/routes.js'
import { forgetAccount, rememberAccount, signedInAccount } from './session.js'
import { accountFrame, signOut } from './home-page.js'
import { failure, pageTitle } from './sign-in-page.js'

const NAME_MAX = 64

/** Signed out meanwhile: forget the account and ask to sign in again, back to this page after. */
function toSignIn (go) {
  forgetAccount()
  go(signInPath('/account'), { replace: true })
}

const signedOutError = (error) => error instanceof ApiError && error.status === 401

/** The name form: the name the others see in every room. */
function nameSection (account, { go }) {
  const input = h('input', {
    id: 'account-name',
    name: 'name',
    autocomplete: 'name',
    autocapitalize: 'words',
    maxlength: NAME_MAX,
    required: true,
    value: account.name || '',
    'aria-describedby': 'account-name-help'
  })
  const save = h('button', { type: 'submit', class: 'rt-primary' }, t('account.saveName'))
  const status = h('p', { class: 'rt-account-status', role: 'status' })
  const alert = h('p', { class: 'rt-error', role: 'alert' })
  const form = h('form', {
    class: 'rt-account-name-form',
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault()
      status.textContent = ''
      alert.textContent = ''
      const name = input.value.trim()
      if (!name) {
        alert.textContent = t('account.nameMissing')
        input.focus()
        return
      }
      save.disabled = true
      try {
        const { account: saved } = await accountApi.rename(name)
        rememberAccount(saved)
        input.value = saved.name
        for (const label of document.querySelectorAll('.rt-account-label')) label.textContent = saved.name
        status.textContent = t('account.nameSaved')
      } catch (error) {
        if (signedOutError(error)) return toSignIn(go)
        alert.textContent = failure(error)
        input.focus()
      } finally {
        save.disabled = false
      }
    }
  },
  h('label', { for: 'account-name' }, t('account.nameLabel')),
  h('p', { id: 'account-name-help', class: 'rt-note' }, t('account.nameHelp')),
  h('div', { class: 'rt-account-row' }, input, save),
  alert,
  status)
  return h('section', { class: 'rt-card rt-account-section', 'aria-labelledby': 'account-profile' },
    h('h2', { id: 'account-profile' }, t('account.profile')),
    form,
    h('dl', { class: 'rt-account-facts' },
      h('dt', {}, t('account.email')),
      h('dd', {}, account.email)))
}

/** One device: what it is, when it was last used, "This device", and Sign out. */
function deviceItem (session, { go, onEnded }) {
  const device = session.device || t('account.unknownDevice')
  const used = session.last_used_at || session.created_at
  const button = h('button', {
    type: 'button',
    class: 'rt-account-device-out',
    'aria-label': session.current ? t('account.signOutThis') : t('account.signOutDevice', { device }),
    onclick: async () => {
      if (session.current) {
        button.disabled = true
        if (!await signOut(go)) button.disabled = false
        return
      }
      button.disabled = true
      try {
        await accountApi.endSession(session.id)
        onEnded(item, device)
      } catch (error) {
        button.disabled = false
        if (signedOutError(error)) return toSignIn(go)
        announce(failure(error))
      }
    }
  }, t('account.signOut'))
  const item = h('li', { class: 'rt-account-device', dataset: { current: session.current ? 'true' : 'false' } },
    h('div', { class: 'rt-account-device-text' },
      h('span', { class: 'rt-account-device-name' }, device,
        session.current ? h('span', { class: 'rt-pill rt-account-this' }, t('account.thisDevice')) : null),
      used
        ? h('span', { class: 'rt-note' }, t('account.lastUsed'), ' ',
          h('time', { datetime: used, title: formatDateTime(used) }, formatRelative(used)))
        : null),
    button)
  return item
}

/** The devices signed in, each with Sign out; and Sign out everywhere. */
function devicesSection (sessions, { go }) {
  const status = h('p', { class: 'rt-account-status', role: 'status' })
  const list = h('ul', { class: 'rt-account-devices', 'aria-labelledby': 'account-devices' })
  const onEnded = (item, device) => {
    const next = item.nextElementSibling || item.previousElementSibling
    item.remove()
    status.textContent = t('account.deviceSignedOut', { device })
    const focus = next && next.querySelector('button')
    if (focus) focus.focus()
  }
  // This device first, then the most recently used.
  const ordered = [...sessions].sort((a, b) =>
    Number(b.current) - Number(a.current) ||
    String(b.last_used_at || '').localeCompare(String(a.last_used_at || '')))
  for (const session of ordered) list.append(deviceItem(session, { go, onEnded }))
  const everywhere = h('button', {
    type: 'button',
    class: 'rt-account-everywhere',
    onclick: async () => {
      const confirmed = await confirmDialog({
        title: t('account.everywhereTitle'),
        message: t('account.everywhereMessage'),
        confirmLabel: t('account.everywhereConfirm')
      })
      if (!confirmed) return
      everywhere.disabled = true
      try {
        await accountApi.signOutEverywhere()
      } catch (error) {
        if (!signedOutError(error)) {
          everywhere.disabled = false
          status.textContent = failure(error)
          return
        }
      }
      forgetAccount({ signOut: true })
      go('/', { replace: true })
    }
  }, t('account.everywhere'))
  return h('section', { class: 'rt-card rt-account-section', 'aria-labelledby': 'account-devices' },
    h('h2', { id: 'account-devices' }, t('account.devices')),
    h('p', { class: 'rt-note' }, t('account.devicesHelp')),
    list,
    status,
    h('div', { class: 'rt-account-actions' }, everywhere))
}

/** Download my data. */
function dataSection ({ go }) {
  const status = h('p', { class: 'rt-account-status', role: 'status' })
  const button = h('button', {
    type: 'button',
    class: 'rt-account-download',
    onclick: async () => {
      button.disabled = true
      button.textContent = t('account.downloading')
      status.textContent = ''
      try {
        const file = await accountApi.exportData()
        status.textContent = t('account.downloaded', { file })
      } catch (error) {
        if (signedOutError(error)) return toSignIn(go)
        status.textContent = failure(error)
      } finally {
        button.disabled = false
        button.textContent = t('account.download')
      }
    }
  }, t('account.download'))
  return h('section', { class: 'rt-card rt-account-section', 'aria-labelledby': 'account-data' },
    h('h2', { id: 'account-data' }, t('account.data')),
    h('p', {}, t('account.dataHelp')),
    h('div', { class: 'rt-account-actions' }, button),
    status)
}

/** The page shown once the account is deleted. */
function deletedPage () {
  pageTitle(t('account.deletedTitle'))
  showPage(h('main', { class: 'rt-center' }, h('div', { class: 'rt-card rt-message' },
    h('h1', {}, t('account.deletedTitle')),
    h('p', { role: 'status' }, t('account.deletedHelp')),
    h('p', {}, h('a', { href: '/' }, t('account.deletedHome'))))))
}

/** Delete my account, once the person typed its email. */
function deleteSection (account, { go }) {
  const alert = h('p', { class: 'rt-error', role: 'alert' })
  const button = h('button', {
    type: 'button',
    class: 'rt-primary rt-destructive',
    'aria-haspopup': 'dialog',
    onclick: async () => {
      const confirmed = await typedConfirmDialog({
        title: t('account.deleteTitle'),
        message: [t('account.deleteWhat'), t('account.deleteRooms'), t('account.deleteFinal')],
        label: t('account.deleteType', { email: account.email }),
        expected: account.email,
        confirmLabel: t('account.deleteConfirm')
      })
      if (!confirmed) {
        button.focus()
        return
      }
      button.disabled = true
      alert.textContent = ''
      try {
        await accountApi.delete(account.email)
      } catch (error) {
        button.disabled = false
        if (signedOutError(error)) return toSignIn(go)
        alert.textContent = failure(error)
        return
      }
      forgetAccount({ signOut: true })
      history.replaceState(null, '', '/')
      deletedPage()
    }
  }, t('account.delete'))
  return h('section', { class: 'rt-card rt-account-section rt-account-danger', 'aria-labelledby': 'account-delete' },
    h('h2', { id: 'account-delete' }, t('account.deleteHeading')),
    h('p', {}, t('account.deleteSummary')),
    h('div', { class: 'rt-account-actions' }, button),
    alert)
}

/** Show the account page; signed out, the sign-in page (coming back here after). */
export async function accountPage ({ go, redraw }) {
  const known = signedInAccount()
  if (!known) return go(signInPath('/account'), { replace: true })
  pageTitle(t('account.title'))
  const options = { go, here: 'account', redraw, label: t('account.title') }
  accountFrame(known, options,
    h('h1', {}, t('account.title')),
    h('p', { class: 'rt-opening', role: 'status' }, t('account.loading')))
  let answer, sessions
  try {
    [answer, { sessions }] = await Promise.all([accountApi.get(), accountApi.sessions()])
  } catch (error) {
    if (signedOutError(error)) return toSignIn(go)
    const main = document.getElementById('main')
    replace(main,
      h('h1', {}, t('account.title')),
      h('p', { class: 'rt-error', role: 'alert' }, failure(error)),
      h('button', { type: 'button', onclick: () => accountPage({ go, redraw }) }, t('join.tryAgain')))
    return
  }
  rememberAccount(answer.account)
  const main = accountFrame(answer.account, options,
    h('h1', { id: 'account-title' }, t('account.title')),
    nameSection(answer.account, { go }),
    devicesSection(sessions, { go }),
    dataSection({ go }),
    deleteSection(answer.account, { go }))
  main.setAttribute('aria-labelledby', 'account-title')
  main.removeAttribute('aria-label')
}
