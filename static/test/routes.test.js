import assert from 'node:assert/strict'
import { test } from 'node:test'

import { firstDocument, inviteLink, nextOf, parseRoute, roomPath, safeNext, signInPath } from '../src/logic/routes.js'

test('a join path names its invite code, decoded', () => {
  assert.deepEqual(parseRoute('/join/abc123'), { page: 'join', code: 'abc123' })
  assert.deepEqual(parseRoute('/join/a%20b'), { page: 'join', code: 'a b' })
})

test('a room path names its slug, decoded', () => {
  assert.deepEqual(parseRoute('/room/style-sprint'), { page: 'room', slug: 'style-sprint' })
  assert.deepEqual(parseRoute('/room/caf%C3%A9'), { page: 'room', slug: 'café' })
})

test('the account pages: home, sign-in, a sign-in link, the account', () => {
  assert.deepEqual(parseRoute('/'), { page: 'home' })
  assert.deepEqual(parseRoute(''), { page: 'home' })
  assert.deepEqual(parseRoute('/sign-in'), { page: 'signIn' })
  assert.deepEqual(parseRoute('/sign-in/tok_EN-1'), { page: 'signInLink', token: 'tok_EN-1' })
  assert.deepEqual(parseRoute('/sign-in/a%2Bb'), { page: 'signInLink', token: 'a+b' })
  assert.deepEqual(parseRoute('/account'), { page: 'account' })
})

test('any other path is missing: no trailing parts, no other prefixes', () => {
  for (const path of ['/room', '/room/', '/room/a/b', '/join/x/', '/rooms/a', '/x/join/a',
    '/sign-in/', '/sign-in/a/b', '/account/', '/accounts', '/home']) {
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

test('where to go after signing in is a path on this site, nothing else', () => {
  for (const path of ['/', '/room/abc', '/join/Xy_9', '/room/a?doc=notes', '/account']) {
    assert.equal(safeNext(path), path)
  }
  for (const other of [null, undefined, '', 'room/abc', '//evil.example/x', 'https://evil.example',
    '/\\evil.example', '/room/a\nb', 'javascript:alert(1)', '/' + 'a'.repeat(2001), 42]) {
    assert.equal(safeNext(other), null, String(other))
  }
})

test('the sign-in path carries where to go next, and only a path on this site', () => {
  assert.equal(signInPath('/join/Xy_9'), '/sign-in?next=%2Fjoin%2FXy_9')
  assert.equal(signInPath('/room/a?doc=x y'), '/sign-in?next=%2Froom%2Fa%3Fdoc%3Dx%20y')
  assert.equal(signInPath(null), '/sign-in')
  assert.equal(signInPath('/'), '/sign-in')
  assert.equal(signInPath('//evil.example'), '/sign-in')
  assert.equal(nextOf('?next=%2Fjoin%2FXy_9'), '/join/Xy_9')
  assert.equal(nextOf('?next=https%3A%2F%2Fevil.example'), null)
  assert.equal(nextOf(''), null)
  assert.equal(nextOf(signInPath('/room/a?doc=x y').slice('/sign-in'.length)), '/room/a?doc=x y')
})
