// The room's list of documents ({name, locked, locked_by, mentor_id, ...}) as events
// change it, and what the page says about a document someone may not edit.

import { t } from '../i18n.js'

/**
 * The documents after a document event (document.created, .updated, .locked): a
 * document in the event replaces the one of its name or joins the list; an event that
 * only names a document ({document: name, locked, by}) changes that one's lock and who
 * holds it.
 */
export function applyDocumentEvent (documents, data) {
  const info = data.document && typeof data.document === 'object' ? data.document : null
  if (!info) {
    return documents.map((d) => d.name === data.document
      ? { ...d, locked: data.locked, locked_by: data.locked ? (data.by || null) : null }
      : d)
  }
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

/**
 * The banner above a document for someone who cannot edit all of it: {kind, text},
 * kind 'lock' (a facilitator locked it) or 'observer' (their role reads only); null
 * when nothing holds them back. Who locked it is named when known (`locked_by`).
 */
export function readOnlyBanner (document, can) {
  const by = document.locked_by
  if (!can.edit) {
    if (!document.locked) return { kind: 'observer', text: t('states.observer') }
    return { kind: 'observer', text: by ? t('states.observerLockedBy', { name: by }) : t('states.observerLocked') }
  }
  if (!document.locked) return null
  if (can.moderate) {
    return { kind: 'lock', text: by ? t('states.lockedByForFacilitators', { name: by }) : t('states.lockedForFacilitators') }
  }
  return { kind: 'lock', text: by ? t('states.lockedBy', { name: by }) : t('states.locked') }
}
