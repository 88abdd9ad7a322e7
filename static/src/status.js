// The header's live state: the connection pill and the session timer; and this
// person's activity (active, idle, away) for the others' roster.

import { announce, h } from './dom.js'
import { connectionSummary, secondsLeft, timerText } from './logic/format.js'

const IDLE_AFTER_MS = 60000

/** The pill that says whether the room feed and the document are connected. */
export class ConnectionStatus {
  constructor () {
    this.element = h('span', { class: 'rt-status', role: 'status', 'aria-live': 'polite' }, 'connecting')
    this.statuses = {}
  }

  /** `which` connection ('room', 'doc') is now in `status`. */
  set (which, status) {
    this.statuses = { ...this.statuses, [which]: status }
    const overall = connectionSummary(this.statuses)
    this.element.textContent = overall
    this.element.dataset.state = overall.split(':')[0]
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
        announce('Time is up.')
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
