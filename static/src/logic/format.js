// Text the page shows that is worked out from data: the timer and the connection state.

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
  return `${timer.label || 'Timer'} ${clock(seconds)}`
}

export const OFFLINE = 'offline: your edits are kept and sent when back'

/**
 * One state for all the page's connections ({room: 'live', doc: 'connected', ...}):
 * refused if any was refused, online when all are up, offline when any is down,
 * connecting otherwise.
 */
export function connectionSummary (statuses) {
  const values = Object.values(statuses)
  if (values.includes('refused')) return 'refused'
  if (values.every((v) => v === 'connected' || v === 'live')) return 'online'
  if (values.includes('disconnected') || values.includes('offline')) return OFFLINE
  return 'connecting'
}
