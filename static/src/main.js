// Roundtable in the browser: the address says which page to show.
//
// Modules by part of the page: the account's pages, home-page.js (/: My rooms, or the
// welcome and sign-in form), sign-in-page.js (/sign-in, /sign-in/{token}) and
// account-page.js (/account); join-page.js; room-page.js, which lays out the room
// (layout.js) and wires its parts together: documents.js, notices.js, toolbar.js, versions.js,
// session-controls.js, follow.js, status.js, people.js, people-manage.js, mentor.js,
// removal.js, and the
// discussion (comments.js, composer.js, thread.js). i18n.js and messages/ hold the
// interface's words, dialogs.js the page's own modal dialogs. logic/ holds what needs
// no DOM, unit-tested in static/test.
//
// The room page and the editor in it (TipTap, ProseMirror, Yjs) are most of the code.
// They are imported only when needed, so the join page loads without them: build.mjs
// splits them into a chunk of their own. Once someone starts typing their name, the
// join page imports that chunk; after Join the room opens in the same page (its
// address pushed to the history), with nothing more to load. Back reloads the page.
// The account's pages are chunks of their own too, imported by their addresses only:
// the join page loads none of them, and they load none of the editor.
//
// A room's address opens with the participant token this browser kept for it; without
// one (or when the room refuses it), someone signed in gets their seat's token from
// their account, once.

import { ApiError, accountApi } from './api.js'
import { h, showPage } from './dom.js'
import { t } from './i18n.js'
import { joinPage } from './join-page.js'
import { nextOf, parseRoute, roomPath, signInPath } from './logic/routes.js'
import { forgetAccount, forgetSession, loadSession, saveSession, signedInAccount } from './session.js'

let roomModule = null

/** The room page's module, imported once (after a failure, tried again next time). */
function loadRoomPage () {
  roomModule ||= import('./room-page.js').catch((error) => {
    roomModule = null
    throw error
  })
  return roomModule
}

function message (title, text) {
  showPage(h('main', { class: 'rt-center' }, h('div', { class: 'rt-card rt-message' },
    h('h1', {}, title),
    h('p', {}, text))))
}

function roomMissing (slug) {
  if (!slug) {
    message(t('join.missingTitle'), t('join.missingHelp'))
    return
  }
  // Someone with an account may have their seat there: signing in opens it.
  showPage(h('main', { class: 'rt-center' }, h('div', { class: 'rt-card rt-message' },
    h('h1', {}, t('join.missingTitle')),
    h('p', {}, t('join.missingHelp')),
    h('p', {}, t('join.missingSignIn'), ' ', h('a', { href: signInPath(roomPath(slug)) }, t('join.missingSignInLink'))))))
}

function roomRemoved () {
  showPage(h('main', { class: 'rt-center' }, h('div', { class: 'rt-card rt-message' },
    h('h1', {}, t('states.notInRoom')),
    h('p', {}, t('states.removed')),
    h('p', {}, h('a', { href: '/' }, t('join.myRooms'))))))
}

function opening () {
  showPage(h('main', { class: 'rt-center' },
    h('p', { class: 'rt-opening', role: 'status' }, t('join.opening'))))
}

/**
 * The account's seat in room `slug`: its token, saved, as loadSession gives it; or null,
 * after showing why not (not a member, removed, signed out, unreachable).
 */
async function seatFromAccount (slug) {
  opening()
  try {
    saveSession(await accountApi.roomToken(slug))
    return loadSession(slug)
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      forgetAccount()
      roomMissing(slug)
    } else if (error instanceof ApiError && error.status === 403) {
      roomRemoved()
    } else if (error instanceof ApiError && error.status === 404) {
      roomMissing(slug)
    } else {
      roomFailed(error instanceof ApiError ? t('join.roomFailed', { reason: error.message }) : t('join.offline'))
    }
    return null
  }
}

// The rooms whose refused token was swapped for the account's seat in this tab: once
// each, so that a seat the room refuses too ends on the room's own "not in this room".
const RETRIED = 'roundtable.retried:'

function retriedRecently (slug) {
  try {
    const at = Number(sessionStorage.getItem(RETRIED + slug))
    return Boolean(at) && Date.now() - at < 60000
  } catch {
    return true
  }
}

function roomFailed (text) {
  showPage(h('main', { class: 'rt-center' }, h('div', { class: 'rt-card rt-message' },
    h('p', { class: 'rt-error', role: 'alert' }, text),
    h('button', { type: 'button', class: 'rt-primary', onclick: () => location.reload() }, t('join.tryAgain')))))
}

async function openRoom (slug, session) {
  opening()
  let RoomPage
  try {
    ({ RoomPage } = await loadRoomPage())
  } catch {
    roomFailed(t('join.roomNotLoaded'))
    return
  }
  const page = new RoomPage(slug, session)
  if (signedInAccount() && !retriedRecently(slug)) {
    // The room refused this token (expired, replaced): ask the account for its seat once.
    const refused = page.refused.bind(page)
    page.refused = async (reason) => {
      page.refused = refused
      if (page.feed) page.feed.stop()
      forgetSession(slug)
      try {
        saveSession(await accountApi.roomToken(slug))
      } catch (error) {
        const removed = error instanceof ApiError && error.status === 403
        return refused(removed ? t('states.removed') : reason)
      }
      try { sessionStorage.setItem(RETRIED + slug, String(Date.now())) } catch { /* once per load then */ }
      location.reload()
    }
  }
  await page.start()
}

/** Import an account page's module (`load()`), then draw it with `draw(module)`; say so if it cannot load. */
async function accountPageOf (load, draw) {
  let module
  try {
    module = await load()
  } catch {
    roomFailed(t('home.notLoaded'))
    return
  }
  draw(module)
}

/** Go to `path` in this page (pushed to the history, or in place of the current entry). */
function go (path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path)
  else history.pushState(null, '', path)
  show()
}

let shownPath = null

/** Show the page the address names. */
function show () {
  shownPath = location.pathname
  // Each page names itself in the tab as it needs to; a page that does not shows the brand.
  document.title = t('join.brand')
  const route = parseRoute(location.pathname)
  if (route.page === 'join') {
    joinPage(route.code, {
      prepare: () => loadRoomPage().catch(() => null),
      onJoined: (joined) => {
        history.pushState(null, '', roomPath(joined.room))
        show()
      }
    })
  } else if (route.page === 'room') {
    enterRoom(route.slug).catch((error) => roomFailed(t('join.roomFailed', { reason: error.message })))
  } else if (route.page === 'home') {
    accountPageOf(() => import('./home-page.js'), (m) => m.homePage({ go, redraw: show }))
  } else if (route.page === 'signIn') {
    accountPageOf(() => import('./sign-in-page.js'), (m) => m.signInPage({ next: nextOf(location.search), go, redraw: show }))
  } else if (route.page === 'signInLink') {
    accountPageOf(() => import('./sign-in-page.js'), (m) => m.signInLinkPage(route.token, { next: nextOf(location.search), go }))
  } else if (route.page === 'account') {
    accountPageOf(() => import('./account-page.js'), (m) => m.accountPage({ go, redraw: show }))
  } else {
    roomMissing()
  }
}

/** Open room `slug` with the token kept here, else with the account's seat, else say it is missing. */
async function enterRoom (slug) {
  let session = loadSession(slug)
  if (!session && signedInAccount()) {
    session = await seatFromAccount(slug)
  } else if (!session) {
    roomMissing(slug)
  } else if (signedInAccount() && session.participant && session.participant.guest === false) {
    // The account's own seat, opened with the token kept here: fetching a fresh one
    // notes the visit ("N new" on the home page counts from it) and renews the token.
    accountApi.roomToken(slug).then(saveSession, () => {})
  }
  if (session) await openRoom(slug, session)
}

// Back from a room opened in place, to the join page: drawn afresh, sockets closed.
window.addEventListener('popstate', () => {
  if (location.pathname !== shownPath) location.reload()
})
show()
