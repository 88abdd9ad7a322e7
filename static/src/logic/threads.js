// Threads of the discussion: which show in which tab and in what order, what is
// unread, who is mentioned, and how a live event changes a thread.

const ANSWER_RANK = { unanswered: 0, answered: 1, accepted: 2 }

/** Questions: unanswered first, then answered, then accepted; latest activity first. */
export function questionsInOrder (threads) {
  return threads.filter((t) => t.kind === 'question')
    .sort((a, b) => (ANSWER_RANK[a.answer_state] - ANSWER_RANK[b.answer_state]) ||
      b.last_activity_at.localeCompare(a.last_activity_at))
}

/**
 * The threads on document `name` beside its text: in the order of their passages
 * (`position(thread)` is where a thread's passage starts, Infinity-like when it has
 * none), general ones after; then oldest first.
 */
export function besideTheText (threads, name, position) {
  return threads.filter((t) => t.document === name)
    .sort((a, b) => position(a) - position(b) || a.id - b.id)
}

/** Whether any comment of the thread mentions participant `id`. */
export function mentions (thread, id) {
  return thread.comments.some((c) => c.mentions.some((m) => m.id === id))
}

/** The threads that mention participant `id`. */
export function mentioning (threads, id) {
  return threads.filter((t) => mentions(t, id))
}

/** The newest comment id of a thread: what "seen" remembers. */
export function lastCommentId (thread) {
  return Math.max(...thread.comments.map((c) => c.id))
}

/** Whether a thread has comments newer than the last one seen ({threadId: commentId}). */
export function isUnread (seen, thread) {
  return (seen[thread.id] || 0) < lastCommentId(thread)
}

/**
 * The number on a tab: unanswered questions; unread threads mentioning me; unread
 * threads on the open document (`name`).
 */
export function tabCount (tab, threads, { seen, me, name }) {
  if (tab === 'questions') return threads.filter((t) => t.kind === 'question' && t.answer_state === 'unanswered').length
  if (tab === 'mentions') return threads.filter((t) => isUnread(seen, t) && mentions(t, me)).length
  return threads.filter((t) => isUnread(seen, t) && t.document === name).length
}

/**
 * A thread after a live event {thread, comment?}: the event's fields over the known
 * thread; without the full comment list, the event's comment replaces or joins the
 * known ones, and which is accepted follows the thread's accepted_comment_id.
 */
export function mergeThread (known, data) {
  const thread = { ...(known || {}), ...data.thread }
  if (data.thread.comments) return thread
  const comments = [...((known && known.comments) || [])]
  if (data.comment) {
    const index = comments.findIndex((c) => c.id === data.comment.id)
    if (index >= 0) comments[index] = data.comment
    else comments.push(data.comment)
  }
  thread.comments = comments.map((c) => ({ ...c, accepted: c.id === thread.accepted_comment_id }))
  return thread
}

/** The ids of the others mentioned in `text` as @Name. */
export function mentionsIn (text, participants, me) {
  return participants.filter((p) => p.id !== me && text.includes('@' + p.name)).map((p) => p.id)
}

/** Who wrote a comment, as its card says. */
export function authorLabel (thread, comment) {
  if (comment.state === 'withheld') return 'Hidden answer'
  if (!comment.author) return comment.by_asker ? 'Anonymous (asker)' : 'Anonymous'
  return comment.author.name + (comment.by_asker && thread.anonymous ? ' (asked anonymously)' : '')
}

const NO_BODY = {
  deleted: 'Comment removed by its author.',
  removed: 'Comment removed by a facilitator.',
  hidden: 'Hidden by a facilitator.',
  withheld: 'Post your own answer to see this one.'
}

/** What stands in for a comment's body when the viewer does not get it. */
export function missingBodyText (state) {
  return NO_BODY[state] || ''
}

/** What an empty tab says. */
export function emptyText (tab) {
  if (tab === 'questions') return 'No questions yet. Ask one: no question is too small.'
  if (tab === 'mentions') return 'Nobody has mentioned you yet.'
  return 'No comments on this document yet. Select text and press “Comment”.'
}
