// Roundtable in the browser: the address says which page to show.
//
// Modules by part of the page: join-page.js; room-page.js, which lays out the room
// (layout.js) and wires its parts together: documents.js, notices.js, toolbar.js, versions.js,
// session-controls.js, follow.js, status.js, people.js, removal.js, and the
// discussion (comments.js, composer.js, thread.js). i18n.js and messages/ hold the
// interface's words, dialogs.js the page's own modal dialogs. logic/ holds what needs
// no DOM, unit-tested in static/test.
//
// The room page and the editor in it (TipTap, ProseMirror, Yjs) are most of the code.
// They are imported only when needed, so the join page loads without them: build.mjs
// splits them into a chunk of their own. Once someone starts typing their name, the
// join page imports that chunk; after Join the room opens in the same page (its
// address pushed to the history), with nothing more to load. Back reloads the page.

import { h, showPage } from './dom.js'
import { t } from './i18n.js'
import { joinPage } from './join-page.js'
import { parseRoute, roomPath } from './logic/routes.js'
import { loadSession } from './session.js'

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

function roomMissing () {
  message(t('join.missingTitle'), t('join.missingHelp'))
}

function roomFailed (text) {
  showPage(h('main', { class: 'rt-center' }, h('div', { class: 'rt-card rt-message' },
    h('p', { class: 'rt-error', role: 'alert' }, text),
    h('button', { type: 'button', class: 'rt-primary', onclick: () => location.reload() }, t('join.tryAgain')))))
}

async function openRoom (slug, session) {
  showPage(h('main', { class: 'rt-center' },
    h('p', { class: 'rt-opening', role: 'status' }, t('join.opening'))))
  let RoomPage
  try {
    ({ RoomPage } = await loadRoomPage())
  } catch {
    roomFailed(t('join.roomNotLoaded'))
    return
  }
  await new RoomPage(slug, session).start()
}

let shownPath = null

/** Show the page the address names. */
function show () {
  shownPath = location.pathname
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
    const session = loadSession(route.slug)
    if (session) openRoom(route.slug, session).catch((error) => roomFailed(t('join.roomFailed', { reason: error.message })))
    else roomMissing()
  } else {
    roomMissing()
  }
}

// Back from a room opened in place, to the join page: drawn afresh, sockets closed.
window.addEventListener('popstate', () => {
  if (location.pathname !== shownPath) location.reload()
})
show()
