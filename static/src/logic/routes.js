// The client's addresses: which page a path shows, and the paths it goes to.

/**
 * The page for a location path: {page: 'home'}, {page: 'signIn'}, {page: 'signInLink', token},
 * {page: 'account'}, {page: 'join', code}, {page: 'room', slug} or {page: 'missing'}.
 */
export function parseRoute (pathname) {
  if (pathname === '/' || pathname === '') return { page: 'home' }
  if (pathname === '/sign-in') return { page: 'signIn' }
  if (pathname === '/account') return { page: 'account' }
  const link = /^\/sign-in\/([^/]+)$/.exec(pathname)
  if (link) return { page: 'signInLink', token: decodeURIComponent(link[1]) }
  const join = /^\/join\/([^/]+)$/.exec(pathname)
  if (join) return { page: 'join', code: decodeURIComponent(join[1]) }
  const room = /^\/room\/([^/]+)$/.exec(pathname)
  if (room) return { page: 'room', slug: decodeURIComponent(room[1]) }
  return { page: 'missing' }
}

/**
 * Where to go after signing in: `value` when it is a path on this site ("/room/x",
 * "/join/CODE?x=1"), else null. Other hosts ("//evil.example", "https://..."), and
 * back-slashes that browsers read as slashes, are refused.
 */
export function safeNext (value) {
  if (typeof value !== 'string' || value.length > 2000) return null
  if (!value.startsWith('/') || value.startsWith('//')) return null
  for (const char of value) {
    const code = char.charCodeAt(0)
    if (char === '\\' || code < 32 || code === 127) return null
  }
  return value
}

/** The sign-in page's path, with where to go afterwards (?next=) when there is one. */
export function signInPath (next) {
  const safe = safeNext(next)
  return safe && safe !== '/' ? '/sign-in?next=' + encodeURIComponent(safe) : '/sign-in'
}

/** The `next` path in a query string (?next=), when it is a path on this site. */
export function nextOf (search) {
  return safeNext(new URLSearchParams(search).get('next'))
}

/** The room page's path; with a document, the path that opens it (?doc=). */
export function roomPath (slug, documentName) {
  const path = '/room/' + encodeURIComponent(slug)
  return documentName === undefined ? path : path + '?doc=' + encodeURIComponent(documentName)
}

/** The document a room page opens first: the one in ?doc=, else the first listed, else none. */
export function firstDocument (search, documents) {
  return new URLSearchParams(search).get('doc') || (documents[0] && documents[0].name) || null
}

/** The link someone opens to join with an invite code. */
export function inviteLink (origin, code) {
  return `${origin}/join/${code}`
}
