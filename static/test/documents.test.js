import assert from 'node:assert/strict'
import { test } from 'node:test'

import { applyDocumentEvent, lockMessage, lockedFor, withDocument } from '../src/logic/documents.js'

const moderator = { edit: true, createDocuments: true, moderate: true }
const member = { edit: true, createDocuments: true, moderate: false }

const listed = () => [{ name: 'notes', locked: false }, { name: 'guide', locked: false, mentor_id: null }]

test('a document in an event replaces the one of its name, in place', () => {
  const documents = listed()
  const after = applyDocumentEvent(documents, { document: { name: 'guide', locked: true, mentor_id: 'p1' } })
  assert.deepEqual(after, [{ name: 'notes', locked: false }, { name: 'guide', locked: true, mentor_id: 'p1' }])
  assert.deepEqual(documents, listed(), 'the list before is left as it was')
})

test('a new document in an event joins the end of the list', () => {
  const after = applyDocumentEvent(listed(), { document: { name: 'plan', locked: false } })
  assert.deepEqual(after.map((d) => d.name), ['notes', 'guide', 'plan'])
})

test('an event naming a document changes only its lock', () => {
  const after = applyDocumentEvent(listed(), { document: 'notes', locked: true })
  assert.deepEqual(after, [{ name: 'notes', locked: true }, { name: 'guide', locked: false, mentor_id: null }])
  assert.deepEqual(applyDocumentEvent(listed(), { document: 'gone', locked: true }), listed())
})

test('a created document is added once', () => {
  assert.deepEqual(withDocument(listed(), { name: 'plan' }).map((d) => d.name), ['notes', 'guide', 'plan'])
  const documents = listed()
  assert.equal(withDocument(documents, { name: 'notes', locked: true }), documents)
})

test('a lock makes a document read-only for all but moderators', () => {
  assert.equal(lockedFor({ locked: true }, member), true)
  assert.equal(lockedFor({ locked: true }, moderator), false)
  assert.equal(lockedFor({ locked: false }, member), false)
  assert.equal(lockedFor({}, member), false)
})

test('the lock banner says who may still edit', () => {
  assert.equal(lockMessage(false, member), '')
  assert.equal(lockMessage(true, moderator), 'Locked: only facilitators can edit.')
  assert.equal(lockMessage(true, member), 'A facilitator locked this document: it is read-only for now.')
})
