// A document's mentor, as the page needs it without the DOM: who may choose one, who
// is offered, how the document list names them, what a failed invitation means, and
// whether a role sees the whole room (a mentor from outside the cohort does not).

/**
 * Whether a role sees the room beyond the documents it mentors: the vocabulary's
 * `sees_room` (roles that do not say, and roles it does not know, do).
 */
export function seesRoom (vocabulary, key) {
  const role = vocabulary.roles.find((r) => r.key === key)
  return !role || role.sees_room !== false
}

/**
 * Whether `me` ({id, can}) may choose the mentor of `document` (its list entry):
 * its creator, or someone who moderates the room.
 */
export function mayChooseMentor (document, me) {
  if (!document || !document.name) return false
  return Boolean(me.can.moderate) || (Boolean(document.created_by) && document.created_by === me.id)
}

/**
 * Who mentors `document`: null when nobody does; else {id, name, you}, `name` null
 * while the person is not known yet. `people`: participants by id ({name}).
 */
export function mentorOf (document, people, meId) {
  const id = document && document.mentor_id
  if (!id) return null
  const person = people.get(id)
  return { id, name: person ? person.name : null, you: id === meId }
}

/**
 * The people offered as the document's mentor, by name: everyone in the room but
 * the document's creator (who would mentor their own plan) and removed people.
 */
export function mentorCandidates (participants, document) {
  return participants
    .filter((p) => !p.removed && p.id !== document.created_by)
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
}

/** An email address as someone types it: something@something, no spaces (the server checks the rest). */
export function looksLikeEmail (text) {
  return /^[^\s@]+@[^\s@]+$/.test(text)
}

/**
 * What to say when inviting a mentor failed: {key, count?}, `key` a message key below
 * `mentor.`. `error`: {status, code, retryAfter} (an ApiError), or null when the
 * server could not be reached.
 */
export function invitationFailure (error) {
  if (!error || typeof error.status !== 'number') return { key: 'offline' }
  if (error.code === 'invalid_email') return { key: 'invalidEmail' }
  if (error.status === 429) {
    // Retry-After, when the server gave one, in whole minutes.
    const minutes = error.retryAfter ? Math.max(1, Math.ceil(error.retryAfter / 60)) : 0
    return minutes ? { key: 'tooManyWait', count: minutes } : { key: 'tooMany' }
  }
  if (error.status === 403) return { key: 'notAllowed' }
  if (error.status === 404) return { key: 'documentGone' }
  return { key: 'failed' }
}
