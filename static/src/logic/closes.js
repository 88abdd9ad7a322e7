// What a WebSocket close code from the server means for the page.

// The token or the room refused this person: bad request, expired or invalid token,
// forbidden, unknown room or document, a limit reached. Connecting again is pointless.
const REFUSALS = new Set([4400, 4401, 4403, 4404, 4409])

/**
 * 4000: connect again and start afresh. The server closes a document's socket with it
 * to make it sync again (a document unlocked), and every socket of someone whose role a
 * facilitator changed ("your role changed"): that page reconnects, receives the
 * participant.role event that names it, and reloads the room in its new role.
 */
export const RECONNECT = 4000

/**
 * Whether the close ends this person's access, so the page must stop reconnecting. 4429
 * ("too many messages", or connections) is not one: it asks to slow down, and the page
 * backs off and connects again. Any other code (a restart 1012, a resync or a role
 * change 4000, a lost network 1006) reconnects too.
 */
export function isRefusal (code) {
  return REFUSALS.has(code)
}
