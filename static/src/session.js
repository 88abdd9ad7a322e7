// Where a participant's token is kept between page loads: this browser's local
// storage, one entry per room, dropped once expired.

const KEY = 'roundtable:'

export function saveSession (joined) {
  localStorage.setItem(KEY + joined.room, JSON.stringify({
    token: joined.token,
    expiresAt: joined.expires_at,
    participant: joined.participant,
    title: joined.title
  }))
}

export function loadSession (room) {
  try {
    const session = JSON.parse(localStorage.getItem(KEY + room) || 'null')
    if (session && session.expiresAt * 1000 > Date.now()) return session
  } catch {
    // Not JSON (written by something else): dropped like an expired one.
  }
  localStorage.removeItem(KEY + room)
  return null
}

export function forgetSession (room) {
  localStorage.removeItem(KEY + room)
}
