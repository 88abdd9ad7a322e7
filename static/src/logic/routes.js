// The client's addresses: which page a path shows, and the paths it goes to.

/** The page for a location path: {page: 'join', code}, {page: 'room', slug} or {page: 'missing'}. */
export function parseRoute (pathname) {
  const join = /^\/join\/([^/]+)$/.exec(pathname)
  if (join) return { page: 'join', code: decodeURIComponent(join[1]) }
  const room = /^\/room\/([^/]+)$/.exec(pathname)
  if (room) return { page: 'room', slug: decodeURIComponent(room[1]) }
  return { page: 'missing' }
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
