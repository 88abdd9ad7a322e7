// The room's list of documents ({name, locked, mentor_id, ...}) as events change it.

/**
 * The documents after a document event (document.created, .updated, .locked): a
 * document in the event replaces the one of its name or joins the list; an event that
 * only names a document ({document: name, locked}) changes that one's lock.
 */
export function applyDocumentEvent (documents, data) {
  const info = data.document && typeof data.document === 'object' ? data.document : null
  if (!info) return documents.map((d) => d.name === data.document ? { ...d, locked: data.locked } : d)
  const known = documents.some((d) => d.name === info.name)
  return known ? documents.map((d) => d.name === info.name ? info : d) : [...documents, info]
}

/** The documents with `created` added, unless one of its name is listed already. */
export function withDocument (documents, created) {
  return documents.some((d) => d.name === created.name) ? documents : [...documents, created]
}

/** Whether a document is read-only for someone: a lock binds all who do not moderate. */
export function lockedFor (document, can) {
  return Boolean(document.locked) && !can.moderate
}

/** The banner above a locked document ('' when it is not locked). */
export function lockMessage (locked, can) {
  if (!locked) return ''
  return can.moderate
    ? 'Locked: only facilitators can edit.'
    : 'A facilitator locked this document: it is read-only for now.'
}
