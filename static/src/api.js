// The HTTP API: a room's routes with the participant token as a Bearer token (RoomApi),
// and the account's routes with the session cookie (accountApi).

export class ApiError extends Error {
  /** retryAfter: the seconds the server asked to wait (429's Retry-After), else null. */
  constructor (status, code, message, retryAfter = null) {
    super(message)
    this.status = status
    this.code = code
    this.retryAfter = retryAfter
  }
}

/** Retry-After in seconds (it may also be an HTTP date), or null. */
function retryAfterOf (response) {
  const value = response.headers.get('retry-after')
  if (!value) return null
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds))
  const date = Date.parse(value)
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000))
}

async function parse (response) {
  if (response.status === 204) return null
  const type = response.headers.get('content-type') || ''
  const body = type.includes('application/json') ? await response.json() : await response.text()
  if (!response.ok) {
    const error = (body && body.error) || {}
    throw new ApiError(response.status, error.code || 'http_' + response.status, error.message || String(body),
      retryAfterOf(response))
  }
  return body
}

export async function join (invite, name) {
  const response = await fetch('/api/join', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ invite, name })
  })
  return parse(response)
}

/** Hand a fetched download (`response`) to the browser as a file, named as the server says. */
async function saveDownload (response, fallback) {
  if (!response.ok) await parse(response)
  const disposition = response.headers.get('content-disposition') || ''
  const match = /filename\*=UTF-8''([^;]+)/.exec(disposition) || /filename="?([^";]+)"?/.exec(disposition)
  const name = match ? decodeURIComponent(match[1]) : fallback
  const url = URL.createObjectURL(await response.blob())
  const link = document.createElement('a')
  link.href = url
  link.download = name
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10000)
  return name
}

/** A call to an account route: JSON both ways, the session cookie (same origin) as credential. */
async function accountCall (method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } }
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  return parse(await fetch(path, init))
}

/**
 * The account's routes (the session cookie is the credential; the browser sends the
 * Origin header the server checks on every change). Each rejects with an ApiError;
 * 401 `signed_out` when this browser is not signed in.
 */
export const accountApi = {
  /** Ask for a sign-in email (link and code): {email, expires_in}. `next`: a path to go to afterwards. */
  signIn: (email, next) => accountCall('POST', '/api/sign-in', next ? { email, next } : { email }),
  /** Redeem the emailed link's token: {account, next}. */
  redeemLink: (token) => accountCall('POST', '/api/sign-in/link', { token }),
  /** Redeem the emailed 6-digit code: {account, next}. */
  redeemCode: (email, code) => accountCall('POST', '/api/sign-in/code', { email, code }),
  /** {account, rooms}. */
  get: () => accountCall('GET', '/api/account'),
  rename: (name) => accountCall('PATCH', '/api/account', { name }),
  sessions: () => accountCall('GET', '/api/account/sessions'),
  endSession: (id) => accountCall('DELETE', '/api/account/sessions/' + encodeURIComponent(id)),
  signOut: () => accountCall('POST', '/api/sign-out'),
  signOutEverywhere: () => accountCall('POST', '/api/sign-out/everywhere'),
  /** Download the account's data (a zip); resolves the file's name. */
  async exportData () {
    const response = await fetch('/api/account/export', { credentials: 'same-origin' })
    return saveDownload(response, 'roundtable-data.zip')
  },
  /** Delete the account: `email` must be its address, as confirmation. */
  delete: (email) => accountCall('DELETE', '/api/account', { email }),
  /** Join a room with an invite code as the account's participant: a join response. */
  join: (invite) => accountCall('POST', '/api/account/join', { invite }),
  /** A participant token for a room the account belongs to: a join response. */
  roomToken: (room) => accountCall('POST', '/api/account/rooms/' + encodeURIComponent(room) + '/token'),
  /** Create a room: {room, title, invites, links, join}. */
  createRoom: (title, templates) => accountCall('POST', '/api/rooms', { title, templates })
}

/** The words the page shows (templates, reactions, roles with their abilities): no token needed. */
export async function vocabulary () {
  return parse(await fetch('/api/vocabulary'))
}

export class RoomApi {
  constructor (room, token) {
    this.room = room
    this.token = token
    this.base = '/api/rooms/' + encodeURIComponent(room)
  }

  async call (method, path, body) {
    const init = { method, headers: { authorization: 'Bearer ' + this.token } }
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    return parse(await fetch(this.base + path, init))
  }

  get (path) { return this.call('GET', path) }
  post (path, body = {}) { return this.call('POST', path, body) }
  patch (path, body) { return this.call('PATCH', path, body) }
  put (path, body) { return this.call('PUT', path, body) }
  delete (path) { return this.call('DELETE', path) }

  /** Fetch a download (export) with the token and hand it to the browser. */
  async download (path) {
    const response = await fetch(this.base + path, { headers: { authorization: 'Bearer ' + this.token } })
    await saveDownload(response, 'export')
  }
}

export const doc = (name) => '/documents/' + encodeURIComponent(name)
