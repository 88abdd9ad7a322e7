// Who may do what in the discussion, from their role's abilities (roles.js). Those who
// may not edit (observers) read it: they write as a document's mentor, in their own
// threads, or ask when the facilitator lets observers ask.

/** Comment on the open document (a mentor may, whatever the role). */
export function mayComment (can, mentor) {
  return can.edit || mentor
}

/** Ask a question. */
export function mayAsk (can, settings, mentor) {
  return can.edit || settings.observers_can_ask || mentor
}

/** Ask anonymously: facilitators always ask under their name. */
export function mayAskAnonymously (can) {
  return !can.moderate
}

/** Add or take back a reaction: a locked thread is closed to all who do not moderate. */
export function mayReact (can, thread) {
  return can.edit && (!thread.locked || can.moderate)
}

/** Reply to a thread. */
export function mayReply (can, thread, mentor) {
  return (can.edit || Boolean(thread.mine) || mentor) && (!thread.locked || can.moderate)
}

/** Whether a comment shows its reactions. */
export function showsReactions (comment) {
  return comment.state === 'visible' || comment.state === 'hidden'
}

/**
 * The actions on a comment, in the order shown: 'edit', 'delete', 'accept' or
 * 'unaccept' (answers to a question), 'hide', 'unhide', 'remove' (moderation).
 */
export function commentActions (can, thread, comment) {
  const actions = []
  const shown = comment.state === 'visible' || comment.state === 'hidden'
  if (comment.mine && comment.state === 'visible' && (!thread.locked || can.moderate)) actions.push('edit')
  if (comment.mine && comment.state !== 'deleted' && comment.state !== 'removed') actions.push('delete')
  if (thread.kind === 'question' && comment.id !== thread.comments[0].id && (thread.mine || can.moderate) && shown) {
    actions.push(comment.accepted ? 'unaccept' : 'accept')
  }
  if (can.moderate && comment.state === 'visible') actions.push('hide')
  if (can.moderate && comment.state === 'hidden') actions.push('unhide')
  if (can.moderate && shown) actions.push('remove')
  return actions
}

/** The actions on a thread: 'resolve' or 'reopen' (its author, a moderator), 'lock' or 'unlock'. */
export function threadActions (can, thread) {
  const actions = []
  if (thread.mine || can.moderate) actions.push(thread.status === 'resolved' ? 'reopen' : 'resolve')
  if (can.moderate) actions.push(thread.locked ? 'unlock' : 'lock')
  return actions
}
