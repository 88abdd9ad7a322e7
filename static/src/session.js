// What this browser keeps between page loads, in local storage:
// - a participant's token per room ("roundtable:<room>"), dropped once expired;
// - a note that this browser is signed in to an account ("roundtable.account": its id
//   and name). The account's session itself is an HttpOnly cookie the page cannot read;
//   the note lets pages show the signed-in view at once, and ask the server about the
//   account only when there is one to ask about. Whenever the server answers
//   "signed out", the note goes.

const KEY = 'roundtable:'
const ACCOUNT = 'roundtable.account'

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

/** Whether a stored value is a room session (saveSession's), not another note under the prefix. */
function isSession (value) {
  try {
    const parsed = JSON.parse(value)
    return Boolean(parsed) && typeof parsed.token === 'string' && 'expiresAt' in parsed
  } catch {
    return false
  }
}

/** Forget every room's token kept in this browser (on signing out). Local copies of documents stay. */
export function forgetAllSessions () {
  const keys = []
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i)
    if (key && key.startsWith(KEY) && isSession(localStorage.getItem(key))) keys.push(key)
  }
  for (const key of keys) localStorage.removeItem(key)
}

/** The account this browser is signed in to, as last heard from the server: {id, name, email, ...} or null. */
export function signedInAccount () {
  try {
    const account = JSON.parse(localStorage.getItem(ACCOUNT) || 'null')
    return account && typeof account.id !== 'undefined' ? account : null
  } catch {
    return null
  }
}

/** Note the account this browser is signed in to (after signing in, and on each answer about it). */
export function rememberAccount (account) {
  try {
    localStorage.setItem(ACCOUNT, JSON.stringify({
      id: account.id,
      name: account.name,
      email: account.email,
      admin: Boolean(account.admin),
      can_create_rooms: Boolean(account.can_create_rooms)
    }))
  } catch { /* private mode: the page asks the server again next time */ }
}

/**
 * This browser is no longer signed in: forget the account. `signOut`: the person signed
 * out here, so every room's token kept here goes too (the next person at this computer
 * finds none of their rooms open); a session that merely ended keeps them.
 */
export function forgetAccount ({ signOut = false } = {}) {
  try { localStorage.removeItem(ACCOUNT) } catch { /* nothing kept */ }
  if (signOut) forgetAllSessions()
}
