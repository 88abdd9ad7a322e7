// The HTTP API, with the participant token as a Bearer token.

export class ApiError extends Error {
  constructor (status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

async function parse (response) {
  if (response.status === 204) return null
  const type = response.headers.get('content-type') || ''
  const body = type.includes('application/json') ? await response.json() : await response.text()
  if (!response.ok) {
    const error = (body && body.error) || {}
    throw new ApiError(response.status, error.code || 'http_' + response.status, error.message || String(body))
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
    if (!response.ok) await parse(response)
    const disposition = response.headers.get('content-disposition') || ''
    const match = /filename\*=UTF-8''([^;]+)/.exec(disposition)
    const name = match ? decodeURIComponent(match[1]) : 'export'
    const url = URL.createObjectURL(await response.blob())
    const link = document.createElement('a')
    link.href = url
    link.download = name
    document.body.append(link)
    link.click()
    link.remove()
    setTimeout(() => URL.revokeObjectURL(url), 10000)
  }
}

export const doc = (name) => '/documents/' + encodeURIComponent(name)
