// The toolbar's logic: which buttons fit in a row, and which link addresses are made.

import assert from 'node:assert/strict'
import { test } from 'node:test'

import { linkTarget } from '../src/logic/links.js'
import { fitTools } from '../src/logic/toolbar-fit.js'

const tool = (width, group, drop) => ({ width, group, drop })

test('everything shows when the row is wide enough', () => {
  const tools = [tool(40, 'a', 2), tool(40, 'a', 1), tool(100, 'b', 0)]
  // 40 + 2 + 40 + 10 + 100
  assert.deepEqual(fitTools(tools, 192, { gap: 2, groupGap: 10, more: 40 }), {
    shown: [true, true, true], more: false
  })
})

test('buttons give way in their drop order, making room for More', () => {
  const tools = [tool(40, 'a', 2), tool(40, 'a', 1), tool(100, 'b', 0)]
  // All: 192. Without the second: 40 + 10 + 100, then More (10 + 30) = 190.
  assert.deepEqual(fitTools(tools, 191, { gap: 2, groupGap: 10, more: 30 }).shown, [true, false, true])
  assert.deepEqual(fitTools(tools, 189, { gap: 2, groupGap: 10, more: 30 }).shown, [false, false, true])
})

test('a narrow button that went first comes back when a wide one made room', () => {
  const tools = [tool(40, 'a', 1), tool(90, 'b', 2), tool(100, 'c', 0)]
  // All: 250. Without the first: 200, + More (10 + 30) = 240. Without both: 100 + 40,
  // and then the first fits again: 40 + 10 + 100 + 40 = 190.
  const { shown } = fitTools(tools, 200, { gap: 2, groupGap: 10, more: 30 })
  assert.deepEqual(shown, [true, false, true])
})

test('buttons that never drop stay even when nothing fits', () => {
  const tools = [tool(40, 'a', 1), tool(100, 'b', 0), tool(80, 'b', 0)]
  const { shown, more } = fitTools(tools, 50, { gap: 2, groupGap: 10, more: 40 })
  assert.deepEqual(shown, [false, true, true])
  assert.equal(more, true)
})

test('a whole group that gave way takes its gap with it', () => {
  const tools = [tool(40, 'a', 1), tool(40, 'b', 0)]
  // All: 90. Only b: 40, then More: 10 + 30 = 80.
  assert.deepEqual(fitTools(tools, 85, { gap: 2, groupGap: 10, more: 30 }).shown, [false, true])
})

test('web and email links are made; bare addresses get a scheme', () => {
  assert.equal(linkTarget('https://example.org/a?b=1'), 'https://example.org/a?b=1')
  assert.equal(linkTarget('  http://example.org  '), 'http://example.org/')
  assert.equal(linkTarget('example.org/page'), 'https://example.org/page')
  assert.equal(linkTarget('localhost:8000/x'), 'https://localhost:8000/x')
  assert.equal(linkTarget('mailto:ana@example.org'), 'mailto:ana@example.org')
  assert.equal(linkTarget('ana@example.org'), 'mailto:ana@example.org')
})

test('script, data and other schemes are refused, as are empty or spaced text', () => {
  for (const text of ['javascript:alert(1)', 'JavaScript:alert(1)', 'data:text/html,x',
    'file:///etc/passwd', 'ftp://example.org', 'mailto:nobody', '', '   ', 'two words', 'https://']) {
    assert.equal(linkTarget(text), null, text)
  }
})
