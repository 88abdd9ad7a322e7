import assert from 'node:assert/strict'
import { test } from 'node:test'

import { PendingEdits } from '../src/logic/pending.js'

/** A connection that opened, sent its first request and answered the server's state. */
function inSync (edits) {
  edits.connected()
  edits.request()
  edits.synced()
  return edits
}

test('edits made offline wait until the connection answers the server', () => {
  const edits = new PendingEdits()
  edits.edit()
  edits.edit()
  edits.edit()
  assert.equal(edits.waiting, 3)
  assert.equal(edits.unconfirmed, 3)

  edits.connected()
  edits.request()
  assert.equal(edits.waiting, 3, 'an open connection alone sends nothing')
  edits.answered()
  assert.equal(edits.unconfirmed, 3, 'the answer to the first request predates the edits')
  edits.synced()
  assert.equal(edits.waiting, 0)
  assert.equal(edits.unconfirmed, 3)
  assert.ok(edits.needsRequest())
  edits.request()
  assert.ok(!edits.needsRequest())
  edits.answered()
  assert.equal(edits.unconfirmed, 0)
})

test('an answer confirms only the edits sent before its request', () => {
  const edits = inSync(new PendingEdits())
  edits.answered()
  edits.edit()
  edits.request()
  edits.edit()
  edits.edit()
  assert.equal(edits.waiting, 0)
  edits.answered()
  assert.equal(edits.unconfirmed, 2)
  assert.ok(edits.needsRequest())
  edits.request()
  edits.answered()
  assert.equal(edits.unconfirmed, 0)
})

test('edits sent but not confirmed wait again when the connection drops', () => {
  const edits = inSync(new PendingEdits())
  edits.answered()
  edits.edit()
  edits.edit()
  assert.equal(edits.waiting, 0)
  edits.request()
  edits.disconnected()
  assert.equal(edits.waiting, 2)
  edits.answered()
  assert.equal(edits.unconfirmed, 2, 'an answer on a closed connection confirms nothing')
  edits.edit()
  assert.equal(edits.waiting, 3)
})

test('edits restored from the browser count until the server confirms them', () => {
  const edits = new PendingEdits()
  edits.restore(4)
  edits.restore(undefined)
  edits.restore(-1)
  assert.equal(edits.waiting, 4)
  inSync(edits)
  edits.answered()
  assert.equal(edits.waiting, 0)
  assert.equal(edits.unconfirmed, 4)
  edits.request()
  edits.answered()
  assert.equal(edits.unconfirmed, 0)
})

test('edits the server refused keep waiting, and later answers confirm nothing', () => {
  const edits = inSync(new PendingEdits(2))
  edits.answered()
  edits.request()
  edits.refuse()
  assert.equal(edits.waiting, 2)
  edits.answered()
  assert.equal(edits.unconfirmed, 2)
  edits.synced()
  assert.equal(edits.waiting, 2, 'the connection that refused them does not send them')
  assert.ok(!edits.needsRequest())
  // A new connection sends them again.
  inSync(edits)
  edits.answered()
  edits.request()
  edits.answered()
  assert.equal(edits.unconfirmed, 0)
})
