import assert from 'node:assert/strict'
import { test } from 'node:test'

import { applyDocumentEvent, lockedFor, readOnlyBanner, withDocument } from '../src/logic/documents.js'

const moderator = { edit: true, createDocuments: true, moderate: true }
const member = { edit: true, createDocuments: true, moderate: false }
const observer = { edit: false, createDocuments: false, moderate: false }

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

test('an event naming a document changes only its lock, and who holds it', () => {
  const after = applyDocumentEvent(listed(), { document: 'notes', locked: true, by: 'Fay' })
  assert.deepEqual(after, [{ name: 'notes', locked: true, locked_by: 'Fay' }, { name: 'guide', locked: false, mentor_id: null }])
  const unlocked = applyDocumentEvent(after, { document: 'notes', locked: false, by: 'Fay' })
  assert.deepEqual(unlocked[0], { name: 'notes', locked: false, locked_by: null })
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

test('the read-only banner says who locked it and who may still edit', () => {
  const locked = { locked: true, locked_by: 'Fay' }
  assert.equal(readOnlyBanner({ locked: false }, member), null)
  assert.equal(readOnlyBanner({ locked: false }, moderator), null)
  assert.deepEqual(readOnlyBanner(locked, moderator), { kind: 'lock', text: 'Locked by Fay: only facilitators can edit.' })
  assert.deepEqual(readOnlyBanner(locked, member), { kind: 'lock', text: 'Locked by Fay: this document is read-only for now.' })
  assert.equal(readOnlyBanner({ locked: true }, member).text, 'A facilitator locked this document: it is read-only for now.')
  assert.equal(readOnlyBanner({ locked: true, locked_by: null }, moderator).text, 'Locked: only facilitators can edit.')
})

test('observers are told they read only, locked or not', () => {
  const banner = readOnlyBanner({ locked: false }, observer)
  assert.equal(banner.kind, 'observer')
  assert.match(banner.text, /^You are observing/)
  assert.match(readOnlyBanner({ locked: true, locked_by: 'Fay' }, observer).text, /^Locked by Fay\. You are observing/)
  assert.match(readOnlyBanner({ locked: true }, observer).text, /^A facilitator locked this document\. You are observing/)
})
