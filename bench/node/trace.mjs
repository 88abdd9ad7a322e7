// Editing traces in the editing-traces "sequential trace" form:
// {startContent, endContent, txns: [{patches: [[position, deleted, inserted], ...]}]}.
// `synthetic:OPS:SEED` makes one instead: a writer typing at a cursor, with runs of
// typing, runs of backspacing and jumps to other places, one character per operation.

import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'

const LETTERS = 'etaoinshrdlucmfwypvbgkjqxz'

/** A small seeded generator: the same edits, in the same places, for every server. */
export function random (seed) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function typed (rng) {
  const r = rng()
  if (r < 0.16) return ' '
  if (r < 0.175) return '\n'
  if (r < 0.19) return '.'
  return LETTERS[Math.floor(Math.pow(rng(), 1.6) * LETTERS.length)]
}

/** A trace of `operations` single-character edits; the same for the same seed. */
export function synthesize (operations, seed = 1) {
  const rng = random(seed)
  const patches = []
  const text = []
  let cursor = 0
  while (patches.length < operations) {
    const r = rng()
    if (r < 0.06 || text.length === 0) {
      cursor = Math.floor(rng() * (text.length + 1))
    }
    if (r >= 0.06 && r < 0.36 && cursor > 0) {
      const run = 1 + Math.floor(rng() * 21)
      for (let i = 0; i < run && cursor > 0 && patches.length < operations; i++) {
        cursor -= 1
        text.splice(cursor, 1)
        patches.push([cursor, 1, ''])
      }
    } else {
      const run = 1 + Math.floor(rng() * 20)
      for (let i = 0; i < run && patches.length < operations; i++) {
        const ch = typed(rng)
        text.splice(cursor, 0, ch)
        patches.push([cursor, 0, ch])
        cursor += 1
      }
    }
  }
  return { startContent: '', endContent: text.join(''), patches, source: `synthetic:${operations}:${seed}` }
}

/** A trace from a `.json.gz` file, or a synthetic one for `synthetic:OPS:SEED`. */
export function loadTrace (source) {
  if (source.startsWith('synthetic:')) {
    const [, operations, seed] = source.split(':')
    return synthesize(Number(operations), Number(seed ?? 1))
  }
  const trace = JSON.parse(gunzipSync(readFileSync(source)).toString('utf8'))
  return {
    startContent: trace.startContent,
    endContent: trace.endContent,
    patches: trace.txns.flatMap((txn) => txn.patches),
    source
  }
}
