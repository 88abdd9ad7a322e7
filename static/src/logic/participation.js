// What the participation pages show, worked out from GET /participation and
// GET /participation/me: durations, the table's order, the summary line, who has not
// contributed yet, how long a question has waited, and the geometry and text of the
// activity charts.

import { formatNumber, formatRelative, formatTime, t } from '../i18n.js'

/** The table's columns that sort, each with how its cells compare. */
export const COLUMNS = [
  { key: 'name', label: 'participation.colPerson', kind: 'text' },
  { key: 'present_seconds', label: 'participation.colPresent', kind: 'number' },
  { key: 'added', label: 'participation.colWriting', kind: 'number' },
  { key: 'comments', label: 'participation.colComments', kind: 'number' },
  { key: 'questions', label: 'participation.colQuestions', kind: 'number' },
  { key: 'answers', label: 'participation.colAnswers', kind: 'number' },
  { key: 'accepted_answers', label: 'participation.colAccepted', kind: 'number' },
  { key: 'reactions_given', label: 'participation.colReactionsGiven', kind: 'number' },
  { key: 'reactions_received', label: 'participation.colReactionsReceived', kind: 'number' },
  { key: 'last_active_at', label: 'participation.colLastActive', kind: 'time' }
]

/** A question that has waited this long (seconds) is marked as waiting long. */
export const LONG_WAIT = 10 * 60

/**
 * A time present or waited, in hours and minutes: "1 h 5 min", "45 min", "2 h";
 * "< 1 min" under a minute, "0 min" for none.
 */
export function duration (seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0))
  if (total === 0) return t('participation.minutes', { count: 0 })
  if (total < 60) return t('participation.underMinute')
  const hours = Math.floor(total / 3600)
  const minutes = Math.floor((total % 3600) / 60)
  const parts = []
  if (hours) parts.push(t('participation.hours', { count: hours }))
  if (minutes || !hours) parts.push(t('participation.minutes', { count: minutes }))
  return parts.join(' ')
}

/** How long ago something happened `seconds` before `now` (ms), as Intl says it: "11 minutes ago". */
export function ago (seconds, now) {
  return formatRelative(now - Math.max(0, Number(seconds) || 0) * 1000, now)
}

/** Whether a question that has waited `seconds` has waited long. */
export function waitsLong (seconds) {
  return Number(seconds) >= LONG_WAIT
}

/** "+412 −37": characters added and removed. */
export function addedRemoved (added, removed) {
  const count = (value) => formatNumber(typeof value === 'number' ? value : 0)
  return t('participation.addedRemoved', { added: count(added), removed: count(removed) })
}

function compareText (a, b) {
  return String(a || '').localeCompare(String(b || ''), undefined, { sensitivity: 'base' })
}

/**
 * `people` sorted by column `key` ("ascending" or "descending"); ties, and people
 * without a value (never active), go by name, the latter always last.
 */
export function sortPeople (people, key, direction = 'ascending') {
  const column = COLUMNS.find((c) => c.key === key) || COLUMNS[0]
  const sign = direction === 'descending' ? -1 : 1
  const value = (person) => {
    const raw = person[column.key]
    if (column.kind === 'time') return raw ? Date.parse(raw) : null
    if (column.kind === 'number') return Number(raw) || 0
    return raw
  }
  return [...people].sort((a, b) => {
    const va = value(a)
    const vb = value(b)
    if (va === null && vb !== null) return 1
    if (vb === null && va !== null) return -1
    let order = 0
    if (va !== null && vb !== null) {
      order = column.kind === 'text' ? compareText(va, vb) : va - vb
    }
    return order * sign || compareText(a.name, b.name)
  })
}

/** The direction a column sorts in first: names A to Z, numbers and times largest first. */
export function firstDirection (key) {
  return key === 'name' ? 'ascending' : 'descending'
}

/**
 * Whether `person` was removed from the room (kept in the report for what they did).
 * "removed" is also the characters they removed: only `true`, or "removed_from_room",
 * says they left.
 */
export function wasRemoved (person) {
  return person.removed === true || person.removed_from_room === true
}

/** The people a report counts: everyone still in the room (removed ones are listed apart). */
export function present (report) {
  return (report.people || []).filter((p) => !wasRemoved(p))
}

/** The summary line's numbers: {people, contributed, hereNow}. */
export function summary (report) {
  const people = present(report)
  return {
    people: people.length,
    contributed: people.filter((p) => p.contributed).length,
    hereNow: people.filter((p) => p.here_now).length
  }
}

/** The people who have not contributed yet, by name: [{id, name, here_now, role}]. */
export function notContributed (report) {
  const byId = new Map((report.people || []).map((p) => [p.participant_id, p]))
  return (report.not_contributed || [])
    .map((id) => byId.get(id))
    .filter((p) => p && !wasRemoved(p))
    .map((p) => ({ id: p.participant_id, name: p.name, here_now: Boolean(p.here_now), role: p.role }))
    .sort((a, b) => compareText(a.name, b.name))
}

/** The unanswered questions, longest waiting first. */
export function unanswered (report) {
  return [...(report.unanswered || [])].sort((a, b) => (b.waiting_seconds || 0) - (a.waiting_seconds || 0))
}

/** A person's documents with any writing, most added first. */
export function documentsWritten (person) {
  return [...(person.documents || [])]
    .filter((d) => d.added || d.removed || d.edits)
    .sort((a, b) => (b.added || 0) - (a.added || 0) || compareText(a.document, b.document))
}

/** The empty buckets drawn before a series shorter than `minSlots`, so that bars keep a sensible width. */
function padding (series, minSlots) {
  return Math.max(0, minSlots - (series.edits || []).length)
}

/**
 * Where the bars of an activity chart go, in a `width` x `height` box: one bar per
 * bucket, as tall as its edits against the busiest bucket (a bucket with any edits is
 * at least `minBar` tall), `gap` between bars. A series of fewer than `minSlots`
 * buckets is drawn at the right, after empty slots. {bars: [{x, y, width, height,
 * edits, added, start}], max}; `start` is each bucket's start in ms.
 */
export function chartBars (series, { width = 300, height = 64, gap = 1, minBar = 2, minSlots = 1 } = {}) {
  const edits = series.edits || []
  const added = series.added || []
  const count = edits.length
  const max = Math.max(0, ...edits)
  const begin = Date.parse(series.start)
  const step = (series.bucket_seconds || 0) * 1000
  if (!count) return { bars: [], max }
  const before = padding(series, minSlots)
  const slot = width / (count + before)
  const barWidth = Math.max(0.5, slot - (slot > gap * 2 ? gap : 0))
  const bars = edits.map((value, i) => {
    const tall = max ? Math.max(value ? minBar : 0, Math.round((value / max) * height * 10) / 10) : 0
    return {
      x: Math.round((before + i) * slot * 100) / 100,
      y: Math.round((height - tall) * 100) / 100,
      width: Math.round(barWidth * 100) / 100,
      height: tall,
      edits: value,
      added: added[i] || 0,
      start: begin + i * step
    }
  })
  return { bars, max }
}

/**
 * When a chart's buckets begin and end: {from, to} in ms; with `minSlots`, from the
 * start of the first slot drawn (see chartBars).
 */
export function chartSpan (series, minSlots = 1) {
  const step = (series.bucket_seconds || 0) * 1000
  const from = Date.parse(series.start) - padding(series, minSlots) * step
  return { from, to: Date.parse(series.start) + (series.edits || []).length * step }
}

/**
 * The text that stands for an activity chart: how many edits in how long, and the
 * busiest stretch ("Guide: 52 edits in 20 min, busiest at 19:05 (12 edits)").
 */
export function chartSummary (series) {
  const edits = series.edits || []
  const total = edits.reduce((sum, n) => sum + n, 0)
  const { from, to } = chartSpan(series)
  const span = duration((to - from) / 1000)
  if (!total) return t('participation.chartQuiet', { document: series.document, span })
  const busiest = edits.indexOf(Math.max(...edits))
  const at = formatTime(from + busiest * (series.bucket_seconds || 0) * 1000)
  return t('participation.chartSummary', {
    document: series.document,
    count: total,
    span,
    at,
    busiest: formatNumber(edits[busiest])
  })
}

/** One bar's text (its tooltip): "19:05 · 12 edits, 120 characters added". */
export function barText (bar) {
  return t('participation.barText', { at: formatTime(bar.start), count: bar.edits, added: formatNumber(bar.added) })
}
