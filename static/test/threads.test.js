import assert from 'node:assert/strict'
import { test } from 'node:test'

import {
  anchorState, authorLabel, besideTheText, emptyState, isUnread, lastCommentId, mentioning, mentions,
  mentionsIn, mergeThread, missingBodyText, questionsInOrder, tabCount, tabCountLabel
} from '../src/logic/threads.js'

const comment = (id, extra = {}) => ({ id, mentions: [], ...extra })
const question = (id, state, at) => ({ id, kind: 'question', answer_state: state, last_activity_at: at, comments: [comment(id * 10)] })

test('questions: unanswered first, then answered, then accepted; latest activity first', () => {
  const threads = [
    question(1, 'accepted', '2026-01-01T10:00:00Z'),
    question(2, 'answered', '2026-01-01T09:00:00Z'),
    question(3, 'unanswered', '2026-01-01T08:00:00Z'),
    { id: 4, kind: 'comment', comments: [] },
    question(5, 'answered', '2026-01-01T11:00:00Z'),
    question(6, 'unanswered', '2026-01-01T12:00:00Z')
  ]
  assert.deepEqual(questionsInOrder(threads).map((t) => t.id), [6, 3, 5, 2, 1])
})

test('beside the text: by passage, general ones after, then by id; one document only', () => {
  const threads = [
    { id: 1, document: 'notes' },
    { id: 2, document: 'notes', from: 40 },
    { id: 3, document: 'guide', from: 1 },
    { id: 4, document: 'notes', from: 5 },
    { id: 5, document: 'notes', from: 40 },
    { id: 0, document: 'notes' }
  ]
  const position = (t) => t.from ?? Number.MAX_SAFE_INTEGER
  assert.deepEqual(besideTheText(threads, 'notes', position).map((t) => t.id), [4, 2, 5, 0, 1])
  assert.deepEqual(besideTheText(threads, 'guide', position).map((t) => t.id), [3])
  assert.deepEqual(besideTheText(threads, null, position), [])
})

test('beside the text: comments only, a question on the document has its own tab', () => {
  const threads = [
    { id: 1, document: 'notes', kind: 'comment' },
    { id: 2, document: 'notes', kind: 'question' },
    { id: 3, document: null, kind: 'question' },
    { id: 4, document: null, kind: 'comment' }
  ]
  const position = () => 0
  assert.deepEqual(besideTheText(threads, 'notes', position).map((t) => t.id), [1])
  assert.deepEqual(besideTheText(threads, null, position).map((t) => t.id), [4])
})

test('a passage: attached while its text is there, detached once it resolves to nothing or to no text', () => {
  const anchor = { start: 's', end: 'e', quote: 'brown' }
  const open = (range) => ({ name: 'notes', synced: true, resolve: () => range })
  const thread = { id: 1, document: 'notes', anchor }
  assert.equal(anchorState(thread, open({ from: 3, to: 8 })), 'attached')
  assert.equal(anchorState(thread, open({ from: 5, to: 5 })), 'detached', 'its text was deleted')
  assert.equal(anchorState(thread, open(null)), 'detached', 'its positions no longer resolve (a restore replaced the text)')
  assert.equal(anchorState({ ...thread, anchor: null }, open(null)), 'none')
  assert.equal(anchorState({ ...thread, document: 'guide' }, open(null)), 'elsewhere', 'on another document')
  assert.equal(anchorState(thread, { ...open(null), synced: false }), 'elsewhere', 'the document has not loaded yet')
  assert.equal(anchorState(thread, null), 'elsewhere', 'no document is open')
})

test('mentions: any comment of the thread naming me', () => {
  const mine = { id: 1, comments: [comment(1), comment(2, { mentions: [{ id: 'me' }] })] }
  const theirs = { id: 2, comments: [comment(3, { mentions: [{ id: 'you' }] })] }
  assert.equal(mentions(mine, 'me'), true)
  assert.equal(mentions(theirs, 'me'), false)
  assert.deepEqual(mentioning([mine, theirs], 'me'), [mine])
})

test('unread: a comment newer than the last one seen', () => {
  const thread = { id: 7, comments: [comment(3), comment(12), comment(9)] }
  assert.equal(lastCommentId(thread), 12)
  assert.equal(isUnread({}, thread), true)
  assert.equal(isUnread({ 7: 9 }, thread), true)
  assert.equal(isUnread({ 7: 12 }, thread), false)
  assert.equal(isUnread({ 8: 99 }, thread), true)
})

test('tab counts: open questions, unread mentions, unread comment threads on the open document', () => {
  const threads = [
    { ...question(1, 'unanswered', 'x'), document: 'notes' },
    { ...question(2, 'answered', 'x'), document: 'notes' },
    { id: 3, document: 'notes', comments: [comment(30, { mentions: [{ id: 'me' }] })] },
    { id: 4, document: 'guide', comments: [comment(40, { mentions: [{ id: 'me' }] })] },
    { id: 5, document: null, comments: [comment(50)] }
  ]
  const seen = { 3: 30, 1: 10 }
  assert.equal(tabCount('questions', threads, { seen, me: 'me', name: 'notes' }), 1)
  assert.equal(tabCount('mentions', threads, { seen, me: 'me', name: 'notes' }), 1)
  assert.equal(tabCount('comments', threads, { seen, me: 'me', name: 'notes' }), 0, 'the unread question 2 is no comment')
  assert.equal(tabCount('comments', threads, { seen, me: 'me', name: 'guide' }), 1)
  assert.equal(tabCount('comments', threads, { seen, me: 'me', name: null }), 1, 'general threads, with no document open')
})

test('tab counts: a question is not a comment', () => {
  const threads = [
    { ...question(1, 'unanswered', 'x'), document: 'notes' },
    { ...question(2, 'answered', 'x'), document: 'notes' },
    { id: 3, kind: 'comment', document: 'notes', comments: [comment(30)] }
  ]
  const counting = { seen: {}, me: 'me', name: 'notes' }
  assert.equal(tabCount('comments', threads, counting), 1, 'the unread comment thread, not the unread questions')
  assert.equal(tabCount('questions', threads, counting), 1)
  assert.equal(tabCountLabel('questions', 1), '1 unanswered')
  assert.equal(tabCountLabel('comments', 2), '2 new')
})

test('a live event: its comment joins the known ones, acceptance follows the thread', () => {
  const known = { id: 1, status: 'open', accepted_comment_id: null, comments: [comment(1), comment(2, { accepted: true })] }
  const merged = mergeThread(known, { thread: { id: 1, accepted_comment_id: 3 }, comment: comment(3, { body: 'new' }) })
  assert.equal(merged.status, 'open')
  assert.deepEqual(merged.comments.map((c) => [c.id, c.accepted]), [[1, false], [2, false], [3, true]])
  assert.equal(known.comments.length, 2, 'the known thread is left as it was')
})

test('a live event: an edited comment replaces the known one; a full list is taken as sent', () => {
  const known = { id: 1, comments: [comment(1, { body: 'old' }), comment(2)] }
  const edited = mergeThread(known, { thread: { id: 1 }, comment: comment(1, { body: 'new' }) })
  assert.deepEqual(edited.comments.map((c) => c.body), ['new', undefined])
  const full = mergeThread(known, { thread: { id: 1, comments: [comment(9)] } })
  assert.deepEqual(full.comments, [comment(9)])
  const unknown = mergeThread(undefined, { thread: { id: 2 } })
  assert.deepEqual(unknown, { id: 2, comments: [] })
})

test('mentions in a text: others named as @Name', () => {
  const people = [{ id: 'a', name: 'Ann' }, { id: 'b', name: 'Bo' }, { id: 'me', name: 'Me' }]
  assert.deepEqual(mentionsIn('Thanks @Ann and @Me, @Bo?', people, 'me'), ['a', 'b'])
  assert.deepEqual(mentionsIn('Ann, no at sign', people, 'me'), [])
})

test('who wrote a comment', () => {
  const named = { author: { name: 'Mia' } }
  assert.equal(authorLabel({}, named), 'Mia')
  assert.equal(authorLabel({ anonymous: true }, { ...named, by_asker: true }), 'Mia (asked anonymously)')
  assert.equal(authorLabel({ anonymous: false }, { ...named, by_asker: true }), 'Mia')
  assert.equal(authorLabel({}, { author: null, by_asker: true }), 'Anonymous (asker)')
  assert.equal(authorLabel({}, { author: null }), 'Anonymous')
  assert.equal(authorLabel({}, { ...named, state: 'withheld' }), 'Hidden answer')
})

test('what stands in for a body, and what an empty tab says', () => {
  assert.equal(missingBodyText('removed'), 'Comment removed by a facilitator.')
  assert.equal(missingBodyText('withheld'), 'Post your own answer to see this one.')
  assert.equal(missingBodyText('visible'), '')
})

test('an empty tab says how to start', () => {
  const member = { comment: true, ask: true }
  const observer = { comment: false, ask: false }
  const comments = emptyState('comments', member, 'notes')
  assert.equal(comments.title, 'No comments on this document yet.')
  assert.match(comments.hint, /select text in the document and choose Comment/)
  assert.equal(comments.ask, true, 'asking a question is offered too')
  const reading = emptyState('comments', observer, 'notes')
  assert.equal(reading.hint, 'Comments appear here as people write them.')
  assert.equal(reading.ask, false)
  assert.equal(emptyState('comments', member, null).title, 'No comments yet.')
  assert.match(emptyState('questions', member, 'notes').hint, /^Ask one/)
  assert.equal(emptyState('questions', observer, 'notes').hint, 'Questions appear here as people ask them.')
  assert.equal(emptyState('mentions', member, 'notes').title, 'Nobody has mentioned you yet.')
})
