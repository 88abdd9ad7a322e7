import assert from 'node:assert/strict'
import { test } from 'node:test'

import {
  ago, addedRemoved, barText, chartBars, chartSpan, chartSummary, documentsWritten, duration,
  firstDirection, notContributed, present, sortPeople, summary, unanswered, waitsLong, wasRemoved
} from '../src/logic/participation.js'

// A report shaped like GET /participation (docs: the participation API).
const person = (fields) => ({
  participant_id: fields.name.toLowerCase(),
  role: 'member',
  guest: false,
  colour: '#1f77b4',
  here_now: false,
  present_seconds: 0,
  added: 0,
  removed: 0,
  documents: [],
  comments: 0,
  questions: 0,
  anonymous_questions: 0,
  answers: 0,
  accepted_answers: 0,
  reactions_given: 0,
  reactions_received: 0,
  last_active_at: null,
  contributed: false,
  ...fields
})

const REPORT = {
  generated_at: '2026-12-06T20:00:00Z',
  people: [
    person({ name: 'Ana', here_now: true, present_seconds: 3900, added: 412, removed: 37, comments: 3, contributed: true, last_active_at: '2026-12-06T19:58:00Z', documents: [{ document: 'Guide', added: 400, removed: 37, edits: 52 }, { document: 'Notes', added: 12, removed: 0, edits: 2 }, { document: 'Empty', added: 0, removed: 0, edits: 0 }] }),
    person({ name: 'ben', here_now: true, present_seconds: 45, questions: 2, anonymous_questions: 1, contributed: true, last_active_at: '2026-12-06T19:40:00Z' }),
    person({ name: 'Cleo', present_seconds: 0 }),
    person({ name: 'Dan', here_now: true, present_seconds: 600, role: 'observer' }),
    person({ name: 'Eve', removed: true, added: 10, contributed: true }),
    person({ name: 'Flo', removed_from_room: true, removed: 4, contributed: true })
  ],
  not_contributed: ['dan', 'cleo', 'unknown'],
  unanswered: [
    { thread_id: 2, document: null, text: 'Why?', asker_id: 'ana', asker_name: 'Ana', anonymous: false, asked_at: '2026-12-06T19:55:00Z', waiting_seconds: 300 },
    { thread_id: 1, document: 'Guide', text: 'How?', asker_id: 'ben', asker_name: 'ben', anonymous: true, asked_at: '2026-12-06T19:30:00Z', waiting_seconds: 1800 }
  ],
  activity: [
    { document: 'Guide', bucket_seconds: 300, start: '2026-12-06T19:40:00Z', edits: [3, 0, 12, 5], added: [40, 0, 120, 33] }
  ]
}

test('durations read in hours and minutes', () => {
  assert.equal(duration(0), '0 min')
  assert.equal(duration(null), '0 min')
  assert.equal(duration(59), '< 1 min')
  assert.equal(duration(60), '1 min')
  assert.equal(duration(45 * 60 + 59), '45 min')
  assert.equal(duration(3600), '1 h')
  assert.equal(duration(3900), '1 h 5 min')
  assert.equal(duration(26 * 3600 + 60), '26 h 1 min')
})

test('how long ago, through Intl', () => {
  const now = Date.parse('2026-12-06T20:00:00Z')
  assert.equal(ago(640, now), '11 minutes ago')
  assert.equal(ago(7200, now), '2 hours ago')
  assert.equal(ago(5, now), '5 seconds ago')
})

test('a question waits long from ten minutes on', () => {
  assert.equal(waitsLong(599), false)
  assert.equal(waitsLong(600), true)
})

test('added and removed characters', () => {
  assert.equal(addedRemoved(1412, 37), '+1,412 −37')
  assert.equal(addedRemoved(undefined, 0), '+0 −0')
  // A removed person's "removed": true is no count of characters.
  assert.equal(addedRemoved(10, true), '+10 −0')
})

test('the summary counts the people still in the room', () => {
  assert.deepEqual(summary(REPORT), { people: 4, contributed: 2, hereNow: 3 })
  assert.deepEqual(present(REPORT).map((p) => p.name), ['Ana', 'ben', 'Cleo', 'Dan'])
  assert.deepEqual(summary({ people: [] }), { people: 0, contributed: 0, hereNow: 0 })
  assert.equal(wasRemoved(REPORT.people[0]), false)
  assert.equal(wasRemoved(REPORT.people[4]), true)
  assert.equal(wasRemoved(REPORT.people[5]), true)
})

test('who has not contributed yet, by name, unknown ids left out', () => {
  assert.deepEqual(notContributed(REPORT), [
    { id: 'cleo', name: 'Cleo', here_now: false, role: 'member' },
    { id: 'dan', name: 'Dan', here_now: true, role: 'observer' }
  ])
  assert.deepEqual(notContributed({ people: REPORT.people, not_contributed: [] }), [])
})

test('unanswered questions: the longest waiting first', () => {
  assert.deepEqual(unanswered(REPORT).map((q) => q.thread_id), [1, 2])
  assert.deepEqual(unanswered({}), [])
})

test('sorting by name ignores case; numbers and times sort both ways, ties by name', () => {
  const names = (people) => people.map((p) => p.name)
  assert.deepEqual(names(sortPeople(REPORT.people, 'name')), ['Ana', 'ben', 'Cleo', 'Dan', 'Eve', 'Flo'])
  assert.deepEqual(names(sortPeople(REPORT.people, 'name', 'descending')), ['Flo', 'Eve', 'Dan', 'Cleo', 'ben', 'Ana'])
  assert.deepEqual(names(sortPeople(REPORT.people, 'present_seconds', 'descending')), ['Ana', 'Dan', 'ben', 'Cleo', 'Eve', 'Flo'])
  assert.deepEqual(names(sortPeople(REPORT.people, 'added', 'ascending')), ['ben', 'Cleo', 'Dan', 'Flo', 'Eve', 'Ana'])
  assert.deepEqual(names(sortPeople(REPORT.people, 'questions', 'descending')), ['ben', 'Ana', 'Cleo', 'Dan', 'Eve', 'Flo'])
})

test('never active sorts last in either direction', () => {
  const names = (people) => people.map((p) => p.name)
  assert.deepEqual(names(sortPeople(REPORT.people, 'last_active_at', 'descending')), ['Ana', 'ben', 'Cleo', 'Dan', 'Eve', 'Flo'])
  assert.deepEqual(names(sortPeople(REPORT.people, 'last_active_at', 'ascending')), ['ben', 'Ana', 'Cleo', 'Dan', 'Eve', 'Flo'])
})

test('sorting leaves the list it was given as it was', () => {
  const people = [...REPORT.people]
  sortPeople(people, 'added', 'descending')
  assert.deepEqual(people, REPORT.people)
})

test('names sort A to Z first, numbers largest first', () => {
  assert.equal(firstDirection('name'), 'ascending')
  assert.equal(firstDirection('comments'), 'descending')
})

test('the documents someone wrote in, most added first', () => {
  assert.deepEqual(documentsWritten(REPORT.people[0]).map((d) => d.document), ['Guide', 'Notes'])
  assert.deepEqual(documentsWritten({}), [])
})

test('chart bars: heights against the busiest bucket, an empty bucket has none', () => {
  const { bars, max } = chartBars(REPORT.activity[0], { width: 400, height: 60, gap: 2 })
  assert.equal(max, 12)
  assert.equal(bars.length, 4)
  assert.deepEqual(bars.map((b) => b.x), [0, 100, 200, 300])
  assert.deepEqual(bars.map((b) => b.width), [98, 98, 98, 98])
  assert.deepEqual(bars.map((b) => b.height), [15, 0, 60, 25])
  assert.deepEqual(bars.map((b) => b.y), [45, 60, 0, 35])
  assert.deepEqual(bars.map((b) => b.added), [40, 0, 120, 33])
  assert.equal(bars[2].start, Date.parse('2026-12-06T19:50:00Z'))
})

test('chart bars: a small bucket still shows, a quiet chart has no bars', () => {
  const { bars } = chartBars({ start: '2026-12-06T19:00:00Z', bucket_seconds: 60, edits: [1, 500] }, { height: 64, minBar: 2 })
  assert.equal(bars[0].height, 2)
  assert.equal(bars[1].height, 64)
  const quiet = chartBars({ start: '2026-12-06T19:00:00Z', bucket_seconds: 60, edits: [0, 0] })
  assert.deepEqual(quiet.bars.map((b) => b.height), [0, 0])
  assert.deepEqual(chartBars({ start: '2026-12-06T19:00:00Z', bucket_seconds: 60, edits: [] }).bars, [])
})

test('chart span: from the first bucket to the end of the last', () => {
  assert.deepEqual(chartSpan(REPORT.activity[0]), {
    from: Date.parse('2026-12-06T19:40:00Z'),
    to: Date.parse('2026-12-06T20:00:00Z')
  })
  // Drawn as 6 slots: two empty ones before.
  assert.deepEqual(chartSpan(REPORT.activity[0], 6), {
    from: Date.parse('2026-12-06T19:30:00Z'),
    to: Date.parse('2026-12-06T20:00:00Z')
  })
})

test('chart bars: a short series is drawn at the right after empty slots', () => {
  const { bars } = chartBars(REPORT.activity[0], { width: 600, height: 60, gap: 2, minSlots: 6 })
  assert.deepEqual(bars.map((b) => b.x), [200, 300, 400, 500])
  assert.deepEqual(bars.map((b) => b.width), [98, 98, 98, 98])
  // A series as long as the slots, or longer, fills the box.
  assert.deepEqual(chartBars(REPORT.activity[0], { width: 400, minSlots: 4 }).bars.map((b) => b.x), [0, 100, 200, 300])
})

test('a chart is summed up in words', () => {
  const text = chartSummary(REPORT.activity[0])
  assert.match(text, /^Guide: 20 edits in 20 min, busiest at \d\d:\d\d( [AP]M)? \(12\)\.$/)
  const quiet = chartSummary({ document: 'Notes', start: '2026-12-06T19:40:00Z', bucket_seconds: 300, edits: [0, 0] })
  assert.equal(quiet, 'Notes: no edits in 10 min.')
  const one = chartSummary({ document: 'N', start: '2026-12-06T19:40:00Z', bucket_seconds: 60, edits: [1] })
  assert.match(one, /^N: 1 edit in 1 min, busiest at/)
})

test('a bar says when, how many edits and characters', () => {
  const { bars } = chartBars(REPORT.activity[0])
  assert.match(barText(bars[2]), /^\d\d:\d\d( [AP]M)?: 12 edits, 120 characters added$/)
  assert.match(barText(bars[0]), /: 3 edits, 40 characters added$/)
})
