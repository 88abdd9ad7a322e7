import assert from 'node:assert/strict'
import { test } from 'node:test'

import { COLOURS, NO_COLOUR, colourClass, colourOf } from '../src/logic/colours.js'

test('each server colour has its own class, whatever the case', () => {
  assert.equal(colourClass('#d62728'), 'rt-c0')
  assert.equal(colourClass('#1F77B4'), 'rt-c1')
  assert.equal(colourClass('#637939'), 'rt-c11')
  assert.equal(new Set(COLOURS.map(colourClass)).size, COLOURS.length)
})

test('an unknown or missing colour gets the neutral class', () => {
  assert.equal(colourClass('#123456'), 'rt-c-none')
  assert.equal(colourClass('red'), 'rt-c-none')
  assert.equal(colourClass(null), 'rt-c-none')
  assert.equal(colourClass(undefined), 'rt-c-none')
})

test('a participant takes the roster colour, grey until listed', () => {
  const roster = [{ id: 'a', colour: '#2ca02c' }, { id: 'b', colour: '#ff7f0e' }]
  assert.equal(colourOf(roster, 'b'), '#ff7f0e')
  assert.equal(colourOf(roster, 'c'), NO_COLOUR)
  assert.equal(colourOf([], 'a'), NO_COLOUR)
  assert.equal(colourClass(NO_COLOUR), 'rt-c8')
})
