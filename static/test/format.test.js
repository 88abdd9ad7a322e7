import assert from 'node:assert/strict'
import { test } from 'node:test'

import { OFFLINE, clock, connectionSummary, secondsLeft, timerText } from '../src/logic/format.js'

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
  assert.equal(connectionSummary({ room: 'offline', doc: 'connected' }), OFFLINE)
  assert.equal(connectionSummary({ room: 'connecting', doc: 'disconnected' }), OFFLINE)
  assert.equal(connectionSummary({ room: 'connecting', doc: 'connected' }), 'connecting')
  assert.equal(connectionSummary({ room: 'live', doc: 'connecting' }), 'connecting')
  assert.equal(OFFLINE.split(':')[0], 'offline')
})
