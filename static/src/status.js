// The header's live state: the connection pill (with the edits the server does not
// have yet) and the session timer; and this person's activity (active, idle, away) for
// the others' roster.

import { editsSummary, onEditsChange } from './doc-sync.js'
import { announce, h } from './dom.js'
import { t } from './i18n.js'
import { connectionSummary, connectionText, secondsLeft, timerText } from './logic/format.js'

const IDLE_AFTER_MS = 60000

const down = (status) => status === 'disconnected' || status === 'offline'

/**
 * The pill that says whether the room feed and the document are connected, and how
 * many edits wait to be sent. Its data-state is online, offline, connecting or refused;
 * data-waiting counts the edits not sent, data-copy says whether this browser's copy
 * holds them all yet ("kept") or is still writing them ("writing").
 */
export class ConnectionStatus {
  /** writer: whether this person may edit (only then does the pill speak of saving). */
  constructor ({ writer = false } = {}) {
    this.writer = writer
    this.text = h('span', { class: 'rt-status-text' })
    // Not a live region: the text changes with every edit while offline. Changes of
    // state are announced instead.
    this.element = h('span', { class: 'rt-status', role: 'status', 'aria-live': 'off' },
      h('span', { class: 'rt-status-dot', 'aria-hidden': 'true' }), this.text)
    this.statuses = {}
    this.state = null
    this.wasOnline = false
    onEditsChange(() => this.render())
    this.render()
  }

  /** `which` connection ('room', 'doc') is now in `status`. */
  set (which, status) {
    // A connection that dropped stays offline while it retries, until it is back.
    if (status === 'connecting' && down(this.statuses[which])) return
    this.statuses = { ...this.statuses, [which]: status }
    this.render()
  }

  render () {
    const state = Object.keys(this.statuses).length ? connectionSummary(this.statuses) : 'connecting'
    const edits = editsSummary()
    this.text.textContent = connectionText(state, edits, this.writer)
    this.element.dataset.state = state
    this.element.dataset.waiting = String(edits.waiting)
    // Whether this browser's copies hold every edit made (they survive a closed tab).
    this.element.dataset.copy = edits.unkept ? 'writing' : 'kept'
    this.element.title = state === 'offline' ? t('connection.lost') : ''
    if (state !== this.state) {
      if (state === 'offline' && this.wasOnline) announce(t('connection.lost'))
      if (state === 'online' && this.state === 'offline') announce(t('connection.back'))
      if (state === 'online') this.wasOnline = true
      this.state = state
    }
  }
}

/** The session timer: hidden, or its label and the time left, once a second. */
export class SessionTimer {
  constructor () {
    this.element = h('span', { class: 'rt-timer', role: 'timer', 'aria-live': 'off', hidden: true })
    this.tick = null
  }

  /** Show `timer` ({label, ends_at}), or hide it (null). */
  show (timer) {
    clearInterval(this.tick)
    if (!timer) {
      this.element.hidden = true
      return
    }
    const tick = () => {
      const left = secondsLeft(timer.ends_at, Date.now())
      this.element.hidden = false
      this.element.textContent = timerText(timer, left)
      if (left === 0) {
        clearInterval(this.tick)
        announce(t('timer.up'))
      }
    }
    tick()
    this.tick = setInterval(tick, 1000)
  }
}

/** Tell the room (through `feed`'s presence) whether this person is active, idle or away. */
export function trackActivity (feed) {
  let timer = null
  let state = 'active'
  const set = (next) => {
    if (next !== state) {
      state = next
      feed.setPresence({ state })
    }
  }
  const active = () => {
    if (document.visibilityState === 'hidden') return
    set('active')
    clearTimeout(timer)
    timer = setTimeout(() => set('idle'), IDLE_AFTER_MS)
  }
  for (const type of ['keydown', 'pointerdown', 'pointermove', 'scroll', 'focus']) {
    window.addEventListener(type, active, { passive: true, capture: true })
  }
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') {
      // Away until the page is seen again: no idle timer runs while it is hidden.
      clearTimeout(timer)
      set('away')
    } else {
      active()
    }
  })
  active()
}
