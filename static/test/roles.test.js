import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import { abilities, followsSpotlight, roleName, spotlightPolicy } from '../src/logic/roles.js'

// A response of GET /api/vocabulary, recorded from the server.
const vocabulary = JSON.parse(readFileSync(new URL('./fixtures/vocabulary.json', import.meta.url)))

const facilitator = abilities(vocabulary, 'facilitator')
const member = abilities(vocabulary, 'member')
const observer = abilities(vocabulary, 'observer')

test('each role may do what the vocabulary says', () => {
  assert.deepEqual(facilitator, { edit: true, createDocuments: true, moderate: true })
  assert.deepEqual(member, { edit: true, createDocuments: true, moderate: false })
  assert.deepEqual(observer, { edit: false, createDocuments: false, moderate: false })
})

test('the abilities follow the vocabulary, not the role names', () => {
  const changed = { roles: [{ key: 'member', label: 'Member', can_edit: false, can_create_documents: true, can_moderate: true }] }
  assert.deepEqual(abilities(changed, 'member'), { edit: false, createDocuments: true, moderate: true })
})

test('a role the vocabulary does not know may do nothing', () => {
  assert.deepEqual(abilities(vocabulary, 'guest'), { edit: false, createDocuments: false, moderate: false })
  assert.deepEqual(abilities(vocabulary, undefined), { edit: false, createDocuments: false, moderate: false })
})

test('a role is named by its label, within a line', () => {
  assert.equal(roleName(vocabulary, 'facilitator'), 'facilitator')
  assert.equal(roleName(vocabulary, 'observer'), 'observer')
  assert.equal(roleName({ roles: [{ key: 'member', label: 'Cohort Member' }] }, 'member'), 'cohort member')
  assert.equal(roleName(vocabulary, 'guest'), 'guest')
})

test('who follows the spotlight: moderators never, those who cannot edit always, others by choice', () => {
  assert.equal(spotlightPolicy(facilitator), 'never')
  assert.equal(spotlightPolicy(observer), 'always')
  assert.equal(spotlightPolicy(member), 'optional')
})

test('following the spotlight: never one\'s own; opting out counts only where there is a choice', () => {
  assert.equal(followsSpotlight(member, { isMe: false, optedOut: false }), true)
  assert.equal(followsSpotlight(member, { isMe: false, optedOut: undefined }), true)
  assert.equal(followsSpotlight(member, { isMe: false, optedOut: true }), false)
  assert.equal(followsSpotlight(observer, { isMe: false, optedOut: true }), true)
  assert.equal(followsSpotlight(facilitator, { isMe: false, optedOut: false }), false)
  assert.equal(followsSpotlight(member, { isMe: true, optedOut: false }), false)
  assert.equal(followsSpotlight(observer, { isMe: true, optedOut: false }), false)
})
