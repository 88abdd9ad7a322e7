// Every language ships every message, with the same placeholders and plural forms.

import assert from 'node:assert/strict'
import { test } from 'node:test'

import en from '../src/messages/en.js'
import es from '../src/messages/es.js'

const placeholders = (message) => {
  const text = typeof message === 'object' ? Object.values(message).join(' ') : message
  return [...new Set(text.match(/\{\w+\}/g) || [])].sort()
}

for (const [code, catalogue] of Object.entries({ es })) {
  test(`${code} has exactly the English keys`, () => {
    assert.deepEqual(Object.keys(catalogue).sort(), Object.keys(en).sort())
  })

  test(`${code} keeps every message's placeholders`, () => {
    for (const key of Object.keys(en)) {
      assert.deepEqual(placeholders(catalogue[key]), placeholders(en[key]), key)
    }
  })

  test(`${code} gives plural forms where English does`, () => {
    for (const [key, message] of Object.entries(en)) {
      if (typeof message === 'object') {
        assert.equal(typeof catalogue[key], 'object', key)
        assert.ok('other' in catalogue[key], key)
      }
    }
  })
}

test('no message is empty', () => {
  for (const catalogue of [en, es]) {
    for (const [key, message] of Object.entries(catalogue)) {
      const forms = typeof message === 'object' ? Object.values(message) : [message]
      for (const form of forms) assert.ok(form.trim().length > 0, key)
    }
  }
})
