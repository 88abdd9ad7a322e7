// Text the page shows that is worked out from data: the timer and the connection state.

import { t } from '../i18n.js'

/** Whole seconds from `now` (milliseconds) until `endsAt` (an ISO time), never below zero. */
export function secondsLeft (endsAt, now) {
  return Math.max(0, Math.round((new Date(endsAt).getTime() - now) / 1000))
}

/** Minutes and seconds, as a kitchen timer shows them: 4:05. */
export function clock (seconds) {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`
}

/** The header's timer: its label (or "Timer") and the time left. */
export function timerText (timer, seconds) {
  return t('timer.text', { label: timer.label || t('timer.label'), time: clock(seconds) })
}

/**
 * One state for all the page's connections ({room: 'live', doc: 'connected', ...}):
 * refused if any was refused, online when all are up, offline when any is down,
 * connecting otherwise.
 */
export function connectionSummary (statuses) {
  const values = Object.values(statuses)
  if (values.includes('refused')) return 'refused'
  if (values.every((v) => v === 'connected' || v === 'live')) return 'online'
  if (values.includes('disconnected') || values.includes('offline')) return 'offline'
  return 'connecting'
}

/**
 * What the header's pill says for a connection `state` (see connectionSummary) and this
 * page's edits ({waiting, unconfirmed, held}: see doc-sync.js editsSummary); `writer`:
 * whether this person may edit at all (a reader is told nothing about saving).
 */
export function connectionText (state, edits = {}, writer = false) {
  const { waiting = 0, unconfirmed = 0, held = 0 } = edits
  switch (state) {
    case 'refused':
      return t('connection.refused')
    case 'offline':
      return waiting ? t('connection.offlineWaiting', { count: waiting }) : t('connection.offline')
    case 'connecting':
      return waiting ? t('connection.connectingWaiting', { count: waiting }) : t('connection.connecting')
    default:
      if (held) return t('connection.onlineHeld', { count: held })
      if (waiting) return t('connection.onlineWaiting', { count: waiting })
      if (!writer && !unconfirmed) return t('connection.online')
      return unconfirmed ? t('connection.onlineSaving') : t('connection.onlineSaved')
  }
}
