// The home page (/). Signed out: a short welcome and the sign-in form. Signed in: "My
// rooms", each with its title, the person's role and what is new since their last
// visit, opening the room; and "New room" for those the instance lets create rooms,
// which creates one (title, starting documents) and shows its invite links.
//
// The header of the signed-in pages (here and /account) is here too: the account's
// name, linking to /account, and Sign out.

import { ApiError, RoomApi, accountApi, vocabulary as loadVocabulary } from './api.js'
import { announce, h, replace, showPage } from './dom.js'
import { formatRelative, hasMessage, t } from './i18n.js'
import { InviteLinks } from './invites.js'
import { roomPath } from './logic/routes.js'
import { forgetAccount, rememberAccount, saveSession, signedInAccount } from './session.js'
import { failure, languageChoice, pageTitle, signInCard } from './sign-in-page.js'

/** A role as the page names it ("facilitator"). */
export function roleName (role) {
  return hasMessage(`people.role.${role}`) ? t(`people.role.${role}`) : role
}

/** A template's title and description in the interface's language (the server's are English). */
function templateText (tpl) {
  const key = `template.${tpl.key}`
  return hasMessage(`${key}.title`)
    ? { title: t(`${key}.title`), description: t(`${key}.description`) }
    : { title: tpl.title, description: tpl.description }
}

/** Sign this browser out (and forget its rooms' tokens), then go home. */
export async function signOut (go) {
  try {
    await accountApi.signOut()
  } catch (error) {
    // Signed out already (401) is what was asked; anything else is said, and nothing forgotten.
    if (!(error instanceof ApiError && error.status === 401)) {
      announce(failure(error))
      return false
    }
  }
  forgetAccount({ signOut: true })
  go('/', { replace: true })
  return true
}

/** The header of the signed-in pages: home, the account's name (to /account), Sign out. */
export function accountHeader (account, { go, here }) {
  const signOutButton = h('button', {
    type: 'button',
    class: 'rt-link rt-signout',
    onclick: async () => {
      signOutButton.disabled = true
      if (!await signOut(go)) signOutButton.disabled = false
    }
  }, t('home.signOut'))
  const name = h('a', {
    href: '/account',
    class: 'rt-account-name',
    'aria-current': here === 'account' ? 'page' : false,
    title: t('home.accountLink')
  }, h('span', { class: 'rt-account-avatar', 'aria-hidden': 'true' }, (account.name || account.email || '?').trim().charAt(0).toUpperCase()),
  h('span', { class: 'rt-account-label' }, account.name || account.email))
  return h('header', { class: 'rt-account-bar' },
    h('a', { href: '/', class: 'rt-account-brand', 'aria-current': here === 'home' ? 'page' : false }, t('join.brand')),
    h('nav', { class: 'rt-account-nav', 'aria-label': t('home.accountMenu') }, name, signOutButton))
}

/** One room in "My rooms": a link to it with its title, role, news and last visit. */
function roomItem (room) {
  const news = room.new_activity > 0
    ? h('span', { class: 'rt-room-new' }, t('home.newActivity', { count: room.new_activity }))
    : null
  // The contract's last visit; the server may give the room's last activity instead.
  let visit = null
  if (room.last_visit) {
    visit = h('span', { class: 'rt-room-visit' }, t('home.lastVisit', { when: formatRelative(room.last_visit) }))
  } else if (room.last_activity) {
    visit = h('span', { class: 'rt-room-visit' }, t('home.lastActivity', { when: formatRelative(room.last_activity) }))
  } else if ('last_visit' in room) {
    visit = h('span', { class: 'rt-room-visit' }, t('home.notVisited'))
  }
  return h('li', { class: 'rt-room-item' },
    h('a', { href: roomPath(room.room), class: 'rt-room-link', dataset: { room: room.room } },
      h('span', { class: 'rt-room-title' }, room.title),
      h('span', { class: 'rt-room-meta' },
        h('span', { class: 'rt-pill rt-room-role' }, roleName(room.role)),
        news,
        visit)))
}

/** "My rooms" and what goes with it, for `account` with `rooms`. */
function roomsSection (account, rooms, { go, reload }) {
  const heading = h('h1', { id: 'home-title' }, t('home.myRooms'))
  const head = h('div', { class: 'rt-home-head' }, heading)
  if (account.can_create_rooms) {
    const button = h('button', {
      type: 'button',
      class: 'rt-primary rt-new-room',
      'aria-haspopup': 'dialog',
      onclick: () => newRoomDialog({ go, onClose: reload, opener: button })
    }, t('home.newRoom'))
    head.append(button)
  }
  const list = rooms.length
    ? h('ul', { class: 'rt-room-list', 'aria-labelledby': 'home-title' }, rooms.map(roomItem))
    : h('div', { class: 'rt-card rt-home-empty' },
      h('p', { class: 'rt-home-empty-title' }, t('home.noRooms')),
      h('p', { class: 'rt-note' }, account.can_create_rooms ? t('home.noRoomsCreate') : t('home.noRoomsJoin')))
  return [head,
    account.can_create_rooms ? null : h('p', { class: 'rt-note rt-home-policy' }, t('home.cannotCreate')),
    list]
}

/** The page frame of the signed-in pages: the header, then `content` in a column. */
export function accountFrame (account, { go, here, redraw, label }, ...content) {
  const main = h('main', { class: 'rt-account-main', id: 'main', 'aria-label': label }, content)
  showPage(accountHeader(account, { go, here }), main,
    h('footer', { class: 'rt-account-footer' }, languageChoice(`${here}-language`, redraw)))
  return main
}

/** Home, signed out: a welcome, and the sign-in form. */
function signedOutHome ({ go, redraw }) {
  pageTitle(null)
  const card = signInCard({
    go,
    next: null,
    heading: t('home.welcomeTitle'),
    intro: t('home.welcomeIntro'),
    extra: h('p', { class: 'rt-signin-note' }, t('home.inviteNote'))
  })
  showPage(h('main', { class: 'rt-center rt-join-page' }, card,
    languageChoice('home-language', redraw)))
  card.querySelector('input').focus()
}

/**
 * Show the home page. Signed in (as this browser last heard), the frame shows at once
 * and the rooms as soon as the server answers; if it says "signed out", the signed-out page.
 */
export async function homePage ({ go, redraw }) {
  const known = signedInAccount()
  if (!known) return signedOutHome({ go, redraw })
  pageTitle(t('home.myRooms'))
  const options = { go, here: 'home', redraw, label: t('home.myRooms') }
  const main = accountFrame(known, options,
    h('h1', {}, t('home.myRooms')),
    h('p', { class: 'rt-opening', role: 'status' }, t('home.loading')))
  let answer
  try {
    answer = await accountApi.get()
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      forgetAccount()
      return signedOutHome({ go, redraw })
    }
    replace(main,
      h('h1', {}, t('home.myRooms')),
      h('p', { class: 'rt-error', role: 'alert' }, failure(error)),
      h('button', { type: 'button', onclick: () => homePage({ go, redraw }) }, t('join.tryAgain')))
    return
  }
  rememberAccount(answer.account)
  const reload = () => homePage({ go, redraw })
  const drawn = accountFrame(answer.account, options, roomsSection(answer.account, answer.rooms, { go, reload }))
  drawn.setAttribute('aria-labelledby', 'home-title')
  drawn.removeAttribute('aria-label')
}

/** The "New room" dialog: title and starting documents, then the new room's invite links. */
export function newRoomDialog ({ go, onClose, opener }) {
  let created = null
  let opening = false
  const body = h('div', { class: 'rt-dialog-body' })
  const dialog = h('dialog', { class: 'rt-dialog rt-new-room-dialog', 'aria-labelledby': 'new-room-title' },
    h('h2', { id: 'new-room-title' }, t('home.newRoomTitle')), body)
  document.body.append(dialog)
  dialog.addEventListener('close', () => {
    dialog.remove()
    if (created && !opening) onClose()
    else if (opener && opener.isConnected) opener.focus()
  })

  const title = h('input', {
    id: 'new-room-name',
    name: 'title',
    autocomplete: 'off',
    maxlength: 120,
    required: true,
    'aria-describedby': 'new-room-name-help'
  })
  const choices = h('fieldset', { class: 'rt-start-choices rt-new-room-templates' },
    h('legend', {}, t('home.templatesLegend')),
    h('p', { class: 'rt-note', id: 'new-room-templates-help' }, t('home.templatesHelp')))
  const alert = h('p', { class: 'rt-error', role: 'alert' })
  const create = h('button', { type: 'submit', class: 'rt-primary' }, t('home.createRoom'))
  const form = h('form', {
    class: 'rt-new-room-form',
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault()
      alert.textContent = ''
      const chosen = title.value.trim()
      if (!chosen) {
        alert.textContent = t('home.titleMissing')
        title.focus()
        return
      }
      const templates = [...choices.querySelectorAll('input:checked')].map((input) => input.value)
      form.setAttribute('aria-busy', 'true')
      create.disabled = true
      create.textContent = t('home.creating')
      try {
        created = await accountApi.createRoom(chosen, templates)
      } catch (error) {
        form.setAttribute('aria-busy', 'false')
        create.disabled = false
        create.textContent = t('home.createRoom')
        alert.textContent = failure(error, { not_allowed_to_create: 'home.notAllowed' })
        title.focus()
        return
      }
      // The creator is the room's first facilitator: their seat is kept for "Open the room".
      if (created.join) saveSession(created.join)
      showCreated()
    }
  },
  h('label', { for: 'new-room-name' }, t('home.roomTitle')),
  h('p', { class: 'rt-note', id: 'new-room-name-help' }, t('home.roomTitleHelp')),
  title,
  choices,
  alert,
  h('div', { class: 'rt-dialog-actions' },
    h('button', { type: 'button', onclick: () => dialog.close() }, t('common.cancel')),
    create))

  replace(body, form)
  dialog.showModal()
  title.focus()

  loadVocabulary().then(({ templates }) => {
    for (const tpl of templates) {
      const text = templateText(tpl)
      const id = `new-room-template-${tpl.key}`
      choices.append(h('label', { class: 'rt-start-choice', for: id },
        h('input', { type: 'checkbox', id, value: tpl.key, name: 'templates' }),
        h('span', { class: 'rt-start-text' },
          h('span', { class: 'rt-start-title' }, text.title),
          h('span', { class: 'rt-start-description' }, text.description))))
    }
    if (!templates.length) choices.hidden = true
  }).catch(() => {
    choices.append(h('p', { class: 'rt-note' }, t('home.templatesUnavailable')))
  })

  async function showCreated () {
    dialog.querySelector('#new-room-title').textContent = t('home.createdTitle', { title: created.title })
    const room = created.room
    const open = h('button', {
      type: 'button',
      class: 'rt-primary',
      onclick: () => {
        opening = true
        dialog.close()
        go(roomPath(room))
      }
    }, t('home.openRoom'))
    const note = h('p', { class: 'rt-error', role: 'alert' })
    const facilitatorRow = h('details', { class: 'rt-new-room-facilitator' },
      h('summary', {}, t('home.facilitatorLink')),
      h('p', { class: 'rt-note' }, t('home.facilitatorLinkHelp')))
    replace(body,
      h('p', { role: 'status' }, t('home.createdHelp')),
      note,
      facilitatorRow,
      h('div', { class: 'rt-dialog-actions' },
        h('button', { type: 'button', onclick: () => dialog.close() }, t('home.close')),
        open))
    if (!created.join) {
      // No seat to show the links with (an older server): the links it answered with.
      const list = h('ul', { class: 'rt-invite-list' })
      for (const role of ['member', 'observer', 'facilitator']) {
        const url = created.links && created.links[role]
        if (!url) continue
        const field = h('input', { readonly: true, value: url, 'aria-label': t('invites.linkLabel', { role: roleName(role) }) })
        const row = h('li', { class: 'rt-invite' }, h('h3', { class: 'rt-invite-role' }, t('invites.heading', { role: roleName(role) })), field)
        if (role === 'facilitator') facilitatorRow.append(h('ul', { class: 'rt-invite-list' }, row))
        else list.append(row)
      }
      facilitatorRow.before(list)
      open.focus()
      return
    }
    const links = new InviteLinks({ api: new RoomApi(created.join.room, created.join.token), roleName })
    facilitatorRow.before(links.element)
    try {
      await links.show()
    } catch (error) {
      note.textContent = failure(error)
    }
    // Members and observers first; the facilitator's link, which gives full control, under a disclosure.
    for (const role of ['member', 'observer']) {
      const row = links.rows.get(role)
      if (row) links.element.append(row.element)
    }
    const facilitator = links.rows.get('facilitator')
    if (facilitator) facilitatorRow.append(h('ul', { class: 'rt-invite-list' }, facilitator.element))
    open.focus()
  }
  return dialog
}
