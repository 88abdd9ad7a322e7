import assert from 'node:assert/strict'
import { test } from 'node:test'

import { firstDocument, inviteLink, parseRoute, roomPath } from '../src/logic/routes.js'

test('a join path names its invite code, decoded', () => {
  assert.deepEqual(parseRoute('/join/abc123'), { page: 'join', code: 'abc123' })
  assert.deepEqual(parseRoute('/join/a%20b'), { page: 'join', code: 'a b' })
})

test('a room path names its slug, decoded', () => {
  assert.deepEqual(parseRoute('/room/style-sprint'), { page: 'room', slug: 'style-sprint' })
  assert.deepEqual(parseRoute('/room/caf%C3%A9'), { page: 'room', slug: 'café' })
})

test('any other path is missing: no trailing parts, no other prefixes', () => {
  for (const path of ['/', '', '/room', '/room/', '/room/a/b', '/join/x/', '/rooms/a', '/x/join/a']) {
    assert.deepEqual(parseRoute(path), { page: 'missing' }, path)
  }
})

test('room paths encode the slug and the open document', () => {
  assert.equal(roomPath('a b'), '/room/a%20b')
  assert.equal(roomPath('sprint', 'Style guide & notes'), '/room/sprint?doc=Style%20guide%20%26%20notes')
  assert.equal(roomPath('sprint', ''), '/room/sprint?doc=')
})

test('the first document is the one asked for, else the first listed, else none', () => {
  const documents = [{ name: 'notes' }, { name: 'guide' }]
  assert.equal(firstDocument('?doc=guide', documents), 'guide')
  assert.equal(firstDocument('?doc=not%20listed', documents), 'not listed')
  assert.equal(firstDocument('', documents), 'notes')
  assert.equal(firstDocument('?doc=', documents), 'notes')
  assert.equal(firstDocument('', []), null)
})

test('an invite link is the origin and the code', () => {
  assert.equal(inviteLink('https://rt.example', 'Xy_9'), 'https://rt.example/join/Xy_9')
})
