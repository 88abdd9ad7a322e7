import assert from 'node:assert/strict'
import { test } from 'node:test'

import {
  invitationFailure, looksLikeEmail, mayChooseMentor, mentorCandidates, mentorOf, seesRoom
} from '../src/logic/mentors.js'

// The roles of GET /api/vocabulary as the server sends them since mentors came.
const vocabulary = {
  roles: [
    { key: 'facilitator', label: 'Facilitator', can_edit: true, can_create_documents: true, can_moderate: true, sees_room: true },
    { key: 'member', label: 'Member', can_edit: true, can_create_documents: true, can_moderate: false, sees_room: true },
    { key: 'observer', label: 'Observer', can_edit: false, can_create_documents: false, can_moderate: false, sees_room: true },
    { key: 'mentor', label: 'Mentor', can_edit: false, can_create_documents: false, can_moderate: false, sees_room: false }
  ]
}

const facilitator = { id: 'fay', can: { edit: true, moderate: true } }
const learner = { id: 'lu', can: { edit: true, moderate: false } }
const other = { id: 'mo', can: { edit: true, moderate: false } }
const plan = { name: 'Lu plan', created_by: 'lu', mentor_id: null }

test('only a mentor from outside the cohort does not see the room', () => {
  assert.equal(seesRoom(vocabulary, 'facilitator'), true)
  assert.equal(seesRoom(vocabulary, 'observer'), true)
  assert.equal(seesRoom(vocabulary, 'mentor'), false)
  // An older server's vocabulary says nothing: everyone sees the room.
  assert.equal(seesRoom({ roles: [{ key: 'member', label: 'Member' }] }, 'member'), true)
  assert.equal(seesRoom(vocabulary, 'unknown'), true)
})

test('the creator of a document and facilitators choose its mentor', () => {
  assert.equal(mayChooseMentor(plan, learner), true)
  assert.equal(mayChooseMentor(plan, facilitator), true)
  assert.equal(mayChooseMentor(plan, other), false)
  // A document nobody is known to have created: facilitators only.
  assert.equal(mayChooseMentor({ name: 'notes', created_by: null }, other), false)
  assert.equal(mayChooseMentor({ name: 'notes', created_by: null }, facilitator), true)
  // No document open.
  assert.equal(mayChooseMentor({}, facilitator), false)
  assert.equal(mayChooseMentor(null, facilitator), false)
})

test('the mentor is named when known, and recognised as oneself', () => {
  const people = new Map([['dana', { id: 'dana', name: 'Dana' }]])
  assert.equal(mentorOf(plan, people, 'lu'), null)
  assert.deepEqual(mentorOf({ ...plan, mentor_id: 'dana' }, people, 'lu'), { id: 'dana', name: 'Dana', you: false })
  assert.deepEqual(mentorOf({ ...plan, mentor_id: 'dana' }, people, 'dana'), { id: 'dana', name: 'Dana', you: true })
  // Seated a moment ago, not read yet.
  assert.deepEqual(mentorOf({ ...plan, mentor_id: 'boss' }, people, 'lu'), { id: 'boss', name: null, you: false })
})

test('anyone in the room but the creator is offered as mentor, by name', () => {
  const people = [
    { id: 'zed', name: 'Zed' }, { id: 'lu', name: 'Lu' }, { id: 'ann', name: 'ann' },
    { id: 'fay', name: 'Fay' }, { id: 'gone', name: 'Gone', removed: true }
  ]
  assert.deepEqual(mentorCandidates(people, plan).map((p) => p.id), ['ann', 'fay', 'zed'])
})

test('an address needs something on both sides of one @ and no spaces', () => {
  assert.equal(looksLikeEmail('boss@corp.example'), true)
  assert.equal(looksLikeEmail('boss@corp'), true)
  assert.equal(looksLikeEmail('boss at corp'), false)
  assert.equal(looksLikeEmail('@corp.example'), false)
  assert.equal(looksLikeEmail('a b@corp.example'), false)
})

test('a failed invitation says why, and when to try again', () => {
  assert.deepEqual(invitationFailure({ status: 422, code: 'invalid_email' }), { key: 'invalidEmail' })
  assert.deepEqual(invitationFailure({ status: 429, code: 'too_many_sign_ins', retryAfter: 3000 }), { key: 'tooManyWait', count: 50 })
  assert.deepEqual(invitationFailure({ status: 429, code: 'too_many_sign_ins', retryAfter: 5 }), { key: 'tooManyWait', count: 1 })
  assert.deepEqual(invitationFailure({ status: 429, code: 'too_many_sign_ins', retryAfter: null }), { key: 'tooMany' })
  assert.deepEqual(invitationFailure({ status: 403, code: 'forbidden' }), { key: 'notAllowed' })
  assert.deepEqual(invitationFailure({ status: 404, code: 'unknown_document' }), { key: 'documentGone' })
  assert.deepEqual(invitationFailure({ status: 500, code: 'http_500' }), { key: 'failed' })
  assert.deepEqual(invitationFailure(new TypeError('Failed to fetch')), { key: 'offline' })
})
