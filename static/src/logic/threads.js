// Threads of the discussion: which show in which tab and in what order, what is
// unread, who is mentioned, whether a thread's passage is still in the text, and how a
// live event changes a thread.

import { t } from '../i18n.js'

const ANSWER_RANK = { unanswered: 0, answered: 1, accepted: 2 }

/** Questions: unanswered first, then answered, then accepted; latest activity first. */
export function questionsInOrder (threads) {
  return threads.filter((t) => t.kind === 'question')
    .sort((a, b) => (ANSWER_RANK[a.answer_state] - ANSWER_RANK[b.answer_state]) ||
      b.last_activity_at.localeCompare(a.last_activity_at))
}

/**
 * The comment threads on document `name` beside its text (questions have their own
 * tab): in the order of their passages (`position(thread)` is where a thread's passage
 * starts, Infinity-like when it has none), general ones after; then oldest first.
 */
export function besideTheText (threads, name, position) {
  return threads.filter((t) => t.document === name && t.kind !== 'question')
    .sort((a, b) => position(a) - position(b) || a.id - b.id)
}

/**
 * Where a thread's passage stands in the open document: 'none' (the thread is on no
 * passage), 'elsewhere' (on another document than `open.name`, or the open one has
 * not loaded yet: `open.synced` false), 'attached' (`open.resolve(anchor)` finds a
 * passage: {from, to} with text between), or 'detached' (the passage was deleted or
 * replaced: its positions resolve to nothing, or to an empty range).
 */
export function anchorState (thread, open) {
  if (!thread.anchor) return 'none'
  if (!open || thread.document !== open.name || !open.synced) return 'elsewhere'
  const range = open.resolve(thread.anchor)
  return range && range.from < range.to ? 'attached' : 'detached'
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
 * comment threads (not questions) on the open document (`name`).
 */
export function tabCount (tab, threads, { seen, me, name }) {
  if (tab === 'questions') return threads.filter((t) => t.kind === 'question' && t.answer_state === 'unanswered').length
  if (tab === 'mentions') return threads.filter((t) => isUnread(seen, t) && mentions(t, me)).length
  return threads.filter((t) => t.kind !== 'question' && isUnread(seen, t) && t.document === name).length
}

/** What a tab's number means, for screen readers: "2 new", "1 unanswered". */
export function tabCountLabel (tab, count) {
  return tab === 'questions' ? t('discussion.countUnanswered', { count }) : t('discussion.countNew', { count })
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
  if (comment.state === 'withheld') return t('discussion.hiddenAnswer')
  if (!comment.author) return comment.by_asker ? t('discussion.anonymousAsker') : t('discussion.anonymous')
  if (comment.by_asker && thread.anonymous) return t('discussion.askedAnonymously', { name: comment.author.name })
  return comment.author.name
}

const NO_BODY = {
  deleted: 'discussion.deletedByAuthor',
  removed: 'discussion.removedByFacilitator',
  hidden: 'discussion.hiddenByFacilitator',
  withheld: 'discussion.withheld'
}

/** What stands in for a comment's body when the viewer does not get it. */
export function missingBodyText (state) {
  return NO_BODY[state] ? t(NO_BODY[state]) : ''
}

/**
 * What an empty tab says, and how to start: {title, hint, ask}. `may` holds what the
 * viewer may do ({comment, ask}); `document` is the open document's name or null. `ask`
 * is whether to offer asking a question from the comments tab.
 */
export function emptyState (tab, may, document) {
  if (tab === 'questions') {
    return { title: t('discussion.noQuestions'), hint: may.ask ? t('discussion.noQuestionsHint') : t('discussion.questionsAppear'), ask: false }
  }
  if (tab === 'mentions') return { title: t('discussion.noMentions'), hint: t('discussion.noMentionsHint'), ask: false }
  const title = document ? t('discussion.noComments') : t('discussion.noRoomComments')
  let hint = t('discussion.commentsAppear')
  if (may.comment) hint = document ? t('discussion.noCommentsHint') : t('discussion.noRoomCommentsHint')
  return { title, hint, ask: may.ask }
}
