// Roundtable in the browser: the address says which page to show.
//
// Modules by part of the page: join-page.js; room-page.js, which lays out the room
// (layout.js) and wires its parts together: documents.js, toolbar.js, versions.js,
// session-controls.js, follow.js, status.js, people.js, removal.js, and the
// discussion (comments.js, composer.js, thread.js). logic/ holds what needs no DOM,
// unit-tested in static/test.

import { h, showPage } from './dom.js'
import { joinPage } from './join-page.js'
import { parseRoute } from './logic/routes.js'
import { RoomPage } from './room-page.js'
import { loadSession } from './session.js'

function roomMissing () {
  showPage(h('main', { class: 'rt-center' }, h('div', { class: 'rt-card' },
    h('h1', {}, 'Open your invite link'),
    h('p', {}, 'To join a room, open the invite link your facilitator shared with you.'))))
}

function roomFailed (error) {
  showPage(h('main', { class: 'rt-center' }, h('p', { class: 'rt-error', role: 'alert' }, 'Could not open the room: ' + error.message)))
}

const route = parseRoute(location.pathname)
if (route.page === 'join') {
  joinPage(route.code)
} else if (route.page === 'room') {
  const session = loadSession(route.slug)
  if (session) new RoomPage(route.slug, session).start().catch(roomFailed)
  else roomMissing()
} else {
  roomMissing()
}
