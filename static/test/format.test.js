import assert from 'node:assert/strict'
import { test } from 'node:test'

import { clock, connectionSummary, connectionText, secondsLeft, timerText } from '../src/logic/format.js'

test('the clock shows minutes and two-digit seconds', () => {
  assert.equal(clock(0), '0:00')
  assert.equal(clock(5), '0:05')
  assert.equal(clock(65), '1:05')
  assert.equal(clock(600), '10:00')
  assert.equal(clock(24 * 3600), '1440:00')
})

test('seconds left round to the nearest second and stop at zero', () => {
  const now = Date.parse('2026-01-01T10:00:00Z')
  assert.equal(secondsLeft('2026-01-01T10:05:00Z', now), 300)
  assert.equal(secondsLeft('2026-01-01T10:00:00.600Z', now), 1)
  assert.equal(secondsLeft('2026-01-01T10:00:00.400Z', now), 0)
  assert.equal(secondsLeft('2026-01-01T09:59:00Z', now), 0)
})

test('the timer shows its label, or "Timer"', () => {
  assert.equal(timerText({ label: 'Session timer' }, 299), 'Session timer 4:59')
  assert.equal(timerText({ label: '' }, 60), 'Timer 1:00')
  assert.equal(timerText({}, 0), 'Timer 0:00')
})

test('the connection summary: refused wins, then online when all are up', () => {
  assert.equal(connectionSummary({ room: 'live', doc: 'connected' }), 'online')
  assert.equal(connectionSummary({ room: 'live' }), 'online')
  assert.equal(connectionSummary({ room: 'refused', doc: 'connected' }), 'refused')
  assert.equal(connectionSummary({ room: 'offline', doc: 'refused' }), 'refused')
})

test('the connection summary: offline when any is down, else connecting', () => {
  assert.equal(connectionSummary({ room: 'offline', doc: 'connected' }), 'offline')
  assert.equal(connectionSummary({ room: 'connecting', doc: 'disconnected' }), 'offline')
  assert.equal(connectionSummary({ room: 'connecting', doc: 'connected' }), 'connecting')
  assert.equal(connectionSummary({ room: 'live', doc: 'connecting' }), 'connecting')
})

test('the pill counts the edits waiting while offline or connecting', () => {
  assert.equal(connectionText('offline', { waiting: 3, unconfirmed: 3 }, true), 'Offline · 3 edits waiting')
  assert.equal(connectionText('offline', { waiting: 1, unconfirmed: 1 }, true), 'Offline · 1 edit waiting')
  assert.equal(connectionText('offline', {}, true), 'Offline · reconnecting…')
  assert.equal(connectionText('connecting', { waiting: 2, unconfirmed: 2 }, true), 'Connecting… · 2 edits waiting')
  assert.equal(connectionText('connecting', {}, false), 'Connecting…')
  assert.equal(connectionText('refused', { waiting: 2 }, true), 'No access')
})

test('online, the pill says saved only once the server confirmed every edit', () => {
  assert.equal(connectionText('online', { waiting: 0, unconfirmed: 0 }, true), 'Online · saved')
  assert.equal(connectionText('online', { waiting: 0, unconfirmed: 2 }, true), 'Online · saving…')
  // Not sent yet (the connection has not answered the server, or the server refused them).
  assert.equal(connectionText('online', { waiting: 2, unconfirmed: 2 }, true), 'Online · 2 edits waiting')
  assert.equal(connectionText('online', { waiting: 2, unconfirmed: 2, held: 2 }, true),
    'Online · 2 edits wait until the document is unlocked')
  // Someone who may not edit is told nothing about saving.
  assert.equal(connectionText('online', {}, false), 'Online')
})
