import assert from 'node:assert/strict'
import { test } from 'node:test'

import { RECONNECT, isRefusal } from '../src/logic/closes.js'

test('refusals of the token or the room stop reconnecting', () => {
  for (const code of [4400, 4401, 4403, 4404, 4409]) assert.equal(isRefusal(code), true, code)
})

test('too many messages, restarts, resyncs and lost networks reconnect', () => {
  for (const code of [4429, 4000, 1000, 1006, 1011, 1012, 1013]) assert.equal(isRefusal(code), false, code)
})

test('a changed role (4000, "your role changed") reconnects: the page reloads on the event', () => {
  assert.equal(RECONNECT, 4000)
  assert.equal(isRefusal(RECONNECT), false)
})
