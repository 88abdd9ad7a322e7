import assert from 'node:assert/strict'
import { test } from 'node:test'

import { initials } from '../src/logic/names.js'

test('initials are the first and last words’ first letters, upper case', () => {
  assert.equal(initials('Ada Lovelace'), 'AL')
  assert.equal(initials('ada byron king lovelace'), 'AL')
  assert.equal(initials('fay'), 'F')
  assert.equal(initials('  Ned   Ludd  '), 'NL')
})

test('a character outside the basic plane is never cut in half', () => {
  assert.equal(initials('🦊 Fox'), '🦊F')
  assert.equal(initials('Émile Zola'), 'ÉZ')
})

test('an empty name still shows something', () => {
  assert.equal(initials(''), '?')
  assert.equal(initials('   '), '?')
  assert.equal(initials(null), '?')
})
