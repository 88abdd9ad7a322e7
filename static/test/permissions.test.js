import assert from 'node:assert/strict'
import { test } from 'node:test'

import {
  commentActions, mayAsk, mayAskAnonymously, mayComment, mayReact, mayReply, showsReactions,
  threadActions
} from '../src/logic/permissions.js'

const facilitator = { edit: true, createDocuments: true, moderate: true }
const member = { edit: true, createDocuments: true, moderate: false }
const observer = { edit: false, createDocuments: false, moderate: false }
const closed = { observers_can_ask: false }
const open = { observers_can_ask: true }

test('commenting: all who edit, and an observer who mentors the document', () => {
  assert.equal(mayComment(member, false), true)
  assert.equal(mayComment(observer, false), false)
  assert.equal(mayComment(observer, true), true)
})

test('asking: observers when the facilitator lets them, or as mentors', () => {
  assert.equal(Boolean(mayAsk(member, closed, false)), true)
  assert.equal(Boolean(mayAsk(observer, closed, false)), false)
  assert.equal(Boolean(mayAsk(observer, open, false)), true)
  assert.equal(Boolean(mayAsk(observer, closed, true)), true)
  assert.equal(mayAskAnonymously(member), true)
  assert.equal(mayAskAnonymously(observer), true)
  assert.equal(mayAskAnonymously(facilitator), false)
})

test('reacting: not observers; in a locked thread, moderators only', () => {
  assert.equal(mayReact(member, { locked: false }), true)
  assert.equal(mayReact(member, { locked: true }), false)
  assert.equal(mayReact(facilitator, { locked: true }), true)
  assert.equal(mayReact(observer, { locked: false }), false)
})

test('replying: observers in their own threads or as mentors; locks as for reactions', () => {
  assert.equal(mayReply(member, {}, false), true)
  assert.equal(mayReply(observer, {}, false), false)
  assert.equal(mayReply(observer, { mine: true }, false), true)
  assert.equal(mayReply(observer, {}, true), true)
  assert.equal(mayReply(member, { locked: true }, false), false)
  assert.equal(mayReply(observer, { locked: true, mine: true }, true), false)
  assert.equal(mayReply(facilitator, { locked: true }, false), true)
})

test('reactions show on visible and hidden comments only', () => {
  assert.deepEqual(['visible', 'hidden', 'deleted', 'removed', 'withheld'].map((state) => showsReactions({ state })),
    [true, true, false, false, false])
})

test('one\'s own comment: edit while visible and open, delete until gone', () => {
  const thread = { kind: 'comment', comments: [{ id: 1 }] }
  assert.deepEqual(commentActions(member, thread, { id: 1, mine: true, state: 'visible' }), ['edit', 'delete'])
  assert.deepEqual(commentActions(member, { ...thread, locked: true }, { id: 1, mine: true, state: 'visible' }), ['delete'])
  assert.deepEqual(commentActions(member, thread, { id: 1, mine: true, state: 'hidden' }), ['delete'])
  assert.deepEqual(commentActions(member, thread, { id: 1, mine: true, state: 'deleted' }), [])
  assert.deepEqual(commentActions(member, thread, { id: 1, mine: false, state: 'visible' }), [])
})

test('answers to a question: the asker and moderators accept, never the question itself', () => {
  const thread = { kind: 'question', mine: true, comments: [{ id: 1 }, { id: 2 }] }
  assert.deepEqual(commentActions(member, thread, { id: 2, state: 'visible' }), ['accept'])
  assert.deepEqual(commentActions(member, thread, { id: 2, state: 'visible', accepted: true }), ['unaccept'])
  assert.deepEqual(commentActions(member, thread, { id: 1, state: 'visible' }), [])
  assert.deepEqual(commentActions(member, { ...thread, mine: false }, { id: 2, state: 'visible' }), [])
  assert.deepEqual(commentActions(member, thread, { id: 2, state: 'withheld' }), [])
})

test('moderation: hide or unhide, and remove, in that order after the others', () => {
  const thread = { kind: 'question', mine: false, comments: [{ id: 1 }, { id: 2 }] }
  assert.deepEqual(commentActions(facilitator, thread, { id: 2, state: 'visible', mine: true }),
    ['edit', 'delete', 'accept', 'hide', 'remove'])
  assert.deepEqual(commentActions(facilitator, thread, { id: 2, state: 'hidden' }), ['accept', 'unhide', 'remove'])
  assert.deepEqual(commentActions(facilitator, thread, { id: 2, state: 'removed' }), [])
})

test('thread actions: its author and moderators resolve or reopen; moderators lock', () => {
  assert.deepEqual(threadActions(member, { mine: true }), ['resolve'])
  assert.deepEqual(threadActions(member, { mine: true, status: 'resolved' }), ['reopen'])
  assert.deepEqual(threadActions(member, { mine: false }), [])
  assert.deepEqual(threadActions(facilitator, {}), ['resolve', 'lock'])
  assert.deepEqual(threadActions(facilitator, { status: 'resolved', locked: true }), ['reopen', 'unlock'])
})
