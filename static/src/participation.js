// Participation: the facilitators' page of who took part and how (GET /participation,
// and its CSV), and "My contributions", where each person sees their own
// (GET /participation/me). Both are wide dialogs opened from the "you" menu; on a
// phone they fill the screen. The numbers are worked out in logic/participation.js.

import { announce, h, replace } from './dom.js'
import { formatDateTime, formatNumber, formatTime, t } from './i18n.js'
import { colourClass } from './logic/colours.js'
import {
  COLUMNS, addedRemoved, ago, barText, chartBars, chartSpan, chartSummary, documentsWritten,
  duration, firstDirection, notContributed, sortPeople, summary, unanswered, waitsLong, wasRemoved
} from './logic/participation.js'
import { guestTag } from './people.js'

const SVG = 'http://www.w3.org/2000/svg'
// The activity chart's drawing box (the SVG scales it to the width it is given), and
// the buckets it shows at least (two hours of 5-minute buckets): a young room's few
// bars stay narrow, at the right.
const CHART = { width: 320, height: 64, minSlots: 24 }

/** An SVG element with geometry attributes (no style: the CSP allows none). */
function svg (tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value))
  }
  for (const child of children) el.append(child)
  return el
}

/** A <time> saying how long ago `iso` was, the date and time on hover. */
function agoTime (iso, now) {
  if (!iso) return h('span', { class: 'rt-note' }, t('participation.never'))
  return h('time', { datetime: iso, title: formatDateTime(iso) }, ago((now - Date.parse(iso)) / 1000, now))
}

/**
 * A modal dialog with a head (title, its buttons, Close) and a body to fill.
 * onClosed(): once closed, when focus went nowhere (to give it back to what opened it).
 */
function shell ({ id, title, className, buttons = [], onClosed = null }) {
  const status = h('p', { class: 'rt-note rt-participation-status', role: 'status' }, t('participation.loading'))
  const body = h('div', { class: 'rt-participation-body' })
  const dialog = h('dialog', { class: 'rt-dialog rt-participation-dialog ' + className, 'aria-labelledby': id },
    h('div', { class: 'rt-participation-head' },
      h('h2', { id, tabindex: '-1' }, title),
      buttons.length ? h('div', { class: 'rt-participation-actions' }, buttons) : null,
      h('button', { type: 'button', class: 'rt-link rt-participation-close', onclick: () => dialog.close() }, t('participation.close'))),
    status, body)
  dialog.addEventListener('close', () => {
    dialog.remove()
    const focus = document.activeElement
    if (onClosed && (!focus || focus === document.body)) onClosed()
  })
  document.body.append(dialog)
  dialog.showModal()
  dialog.querySelector('h2').focus()
  return { dialog, status, body }
}

/** A question or thread as a button that opens it, when the room can; else its text. */
function threadLink (item, openThread, close) {
  const text = item.text || t('participation.noText')
  if (!openThread || item.thread_id === undefined || item.thread_id === null) {
    return h('span', { class: 'rt-participation-quote' }, text)
  }
  return h('button', {
    type: 'button',
    class: 'rt-link rt-participation-quote',
    dataset: { thread: String(item.thread_id) },
    onclick: () => {
      close()
      openThread(item.thread_id)
    }
  }, text)
}

/** What someone wrote: "+412 −37" then a line per document. */
function writing (person, className = 'rt-participation-docs') {
  const docs = documentsWritten(person)
  if (!docs.length && !person.added && !(typeof person.removed === 'number' && person.removed)) {
    return h('span', { class: 'rt-note' },
      h('span', { 'aria-hidden': 'true' }, '—'), h('span', { class: 'rt-sr' }, t('participation.noWriting')))
  }
  return [
    h('span', { class: 'rt-participation-total' }, addedRemoved(person.added, person.removed)),
    docs.length
      ? h('ul', { class: className, 'aria-label': t('participation.perDocument') },
        docs.map((d) => h('li', {},
          h('span', { class: 'rt-participation-doc' }, d.document), ' ',
          h('span', { class: 'rt-participation-numbers' }, addedRemoved(d.added, d.removed)))))
      : null
  ]
}

/** A person's name with their colour dot, role, guest tag and whether they are here now. */
function who (person, roleName, headingTag = 'span') {
  return h('div', { class: 'rt-participation-who' },
    h('span', { class: 'rt-dot ' + colourClass(person.colour), 'aria-hidden': 'true' }),
    h(headingTag, { class: 'rt-participation-name' }, person.name),
    person.guest ? guestTag() : null,
    wasRemoved(person) ? h('span', { class: 'rt-tag' }, t('participation.removed')) : null,
    h('span', { class: 'rt-participation-role' },
      roleName(person.role),
      person.here_now ? [' · ', h('span', { class: 'rt-participation-here' }, t('participation.hereNow'))] : null))
}

/**
 * The facilitators' Participation page. openThread(id): show a thread in the
 * discussion (null if the room cannot); roleName(key): a role as the page names it;
 * onClosed(): as for shell().
 */
export class ParticipationPage {
  constructor ({ api, roleName, openThread = null, onClosed = null }) {
    this.api = api
    this.onClosed = onClosed
    this.roleName = roleName
    this.openThread = openThread
    this.sort = { key: 'name', direction: 'ascending' }
    this.report = null
  }

  open () {
    const refresh = h('button', { type: 'button', onclick: () => this.load() }, t('participation.refresh'))
    const download = h('button', {
      type: 'button',
      class: 'rt-primary',
      onclick: () => this.api.download('/participation.csv')
        .then(() => announce(t('participation.downloaded')))
        .catch((error) => announce(error.message))
    }, t('participation.downloadCsv'))
    Object.assign(this, shell({
      id: 'participation-title',
      title: t('participation.title'),
      className: 'rt-participation-room',
      buttons: [refresh, download],
      onClosed: this.onClosed
    }))
    this.dialog.addEventListener('close', () => { this.dialog = null })
    return this.load()
  }

  async load () {
    if (!this.dialog) return
    this.status.textContent = t('participation.loading')
    try {
      this.report = await this.api.get('/participation')
    } catch (error) {
      if (this.dialog) this.status.textContent = t('participation.loadFailed', { reason: error.message })
      return
    }
    if (!this.dialog) return
    this.now = Date.now()
    // Times are worked out against the server's clock: "waited" and "ago" agree with it.
    this.skew = this.report.generated_at ? this.now - Date.parse(this.report.generated_at) : 0
    this.status.textContent = t('participation.updated', { time: formatTime(this.now) })
    this.render()
  }

  render () {
    const report = this.report
    const counts = summary(report)
    replace(this.body,
      h('p', { class: 'rt-participation-summary' },
        t('participation.summaryPeople', { count: counts.people }), ' · ',
        t('participation.summaryContributed', { count: counts.contributed }), ' · ',
        t('participation.summaryHere', { count: counts.hereNow })),
      h('div', { class: 'rt-participation-top' }, this.quiet(), this.waiting()),
      this.peopleSection(),
      this.activitySection())
  }

  /** "Not contributed yet": the people a facilitator may want to invite in. */
  quiet () {
    const people = notContributed(this.report)
    return h('section', { class: 'rt-participation-callout rt-participation-quiet', 'aria-labelledby': 'participation-quiet' },
      h('h3', { id: 'participation-quiet' }, t('participation.notContributed'),
        people.length ? h('span', { class: 'rt-badge-count' }, formatNumber(people.length)) : null),
      people.length
        ? [
            h('p', { class: 'rt-note' }, t('participation.notContributedHint')),
            h('ul', { class: 'rt-participation-names' }, people.map((p) => h('li', {},
              h('span', { class: 'rt-participation-name' }, p.name),
              p.here_now ? h('span', { class: 'rt-participation-here' }, t('participation.hereNow')) : null)))
          ]
        : h('p', { class: 'rt-participation-all' }, t('participation.everyoneContributed')))
  }

  /** "Unanswered questions", longest waiting first, with how long each has waited. */
  waiting () {
    const questions = unanswered(this.report)
    const close = () => this.dialog && this.dialog.close()
    return h('section', { class: 'rt-participation-callout rt-participation-waiting', 'aria-labelledby': 'participation-unanswered' },
      h('h3', { id: 'participation-unanswered' }, t('participation.unanswered'),
        questions.length ? h('span', { class: 'rt-badge-count' }, formatNumber(questions.length)) : null),
      questions.length
        ? h('ol', { class: 'rt-participation-questions' }, questions.map((q) => h('li', {
          class: waitsLong(q.waiting_seconds) ? 'rt-waits-long' : null
        },
        h('p', { class: 'rt-participation-meta' },
          h('span', { class: 'rt-pill rt-participation-wait' },
            q.asked_at
              ? h('time', { datetime: q.asked_at, title: formatDateTime(q.asked_at) }, t('participation.asked', { ago: ago(q.waiting_seconds, this.now) }))
              : t('participation.asked', { ago: ago(q.waiting_seconds, this.now) })),
          ' ',
          q.anonymous
            ? t('participation.askedAnonymously', { name: q.asker_name })
            : q.asker_name,
          ' · ',
          q.document ? h('span', { class: 'rt-participation-doc' }, q.document) : t('participation.wholeRoom')),
        threadLink(q, this.openThread, close))))
        : h('p', { class: 'rt-participation-all' }, t('participation.noneWaiting')))
  }

  /** Per person: a sortable table on a desk, cards on a phone. */
  peopleSection () {
    const people = sortPeople(this.report.people || [], this.sort.key, this.sort.direction)
    return h('section', { class: 'rt-participation-people', 'aria-labelledby': 'participation-people' },
      h('h3', { id: 'participation-people' }, t('participation.people')),
      people.length ? [this.table(people), this.cards(people)] : h('p', { class: 'rt-note' }, t('participation.nobody')),
      h('p', { class: 'rt-note rt-participation-footnote' }, t('participation.presentNote')))
  }

  table (people) {
    const now = this.now - this.skew
    const head = h('tr', {}, COLUMNS.map((column) => {
      const sorted = this.sort.key === column.key
      return h('th', {
        scope: 'col',
        class: column.kind === 'number' ? 'rt-num' : null,
        'aria-sort': sorted ? this.sort.direction : null
      }, h('button', {
        type: 'button',
        class: 'rt-sort',
        dataset: { column: column.key },
        onclick: () => this.sortBy(column.key)
      }, t(column.label), h('span', { class: 'rt-sort-mark', 'aria-hidden': 'true' },
        sorted ? (this.sort.direction === 'ascending' ? '▲' : '▼') : '')))
    }))
    const num = (value) => h('td', { class: 'rt-num' }, formatNumber(value || 0))
    const rows = people.map((p) => h('tr', { dataset: { participant: p.participant_id } },
      h('th', { scope: 'row' }, who(p, this.roleName)),
      h('td', { class: 'rt-num' }, duration(p.present_seconds)),
      h('td', { class: 'rt-num rt-participation-writing' }, writing(p)),
      num(p.comments),
      h('td', { class: 'rt-num' }, formatNumber(p.questions || 0),
        p.anonymous_questions ? h('span', { class: 'rt-participation-sub' }, t('participation.anonymousCount', { count: p.anonymous_questions })) : null),
      num(p.answers),
      num(p.accepted_answers),
      num(p.reactions_given),
      num(p.reactions_received),
      h('td', {}, agoTime(p.last_active_at, now))))
    return h('div', { class: 'rt-participation-scroll' },
      h('table', { class: 'rt-participation-table' },
        h('caption', { class: 'rt-sr' }, t('participation.tableCaption')),
        h('thead', {}, head), h('tbody', {}, rows)))
  }

  /** The same numbers as cards, one per person (a phone). */
  cards (people) {
    const now = this.now - this.skew
    const stat = (label, value) => h('div', {}, h('dt', {}, label), h('dd', {}, value))
    return h('ul', { class: 'rt-participation-cards', 'aria-label': t('participation.people') },
      people.map((p) => h('li', { class: 'rt-participation-card', dataset: { participant: p.participant_id } },
        who(p, this.roleName, 'strong'),
        h('dl', { class: 'rt-participation-stats' },
          stat(t('participation.timePresent'), duration(p.present_seconds)),
          stat(t('participation.colLastActive'), agoTime(p.last_active_at, now)),
          stat(t('participation.colComments'), formatNumber(p.comments || 0)),
          stat(t('participation.colQuestions'), [formatNumber(p.questions || 0),
            p.anonymous_questions ? h('span', { class: 'rt-participation-sub' }, t('participation.anonymousCount', { count: p.anonymous_questions })) : null]),
          stat(t('participation.colAnswers'), formatNumber(p.answers || 0)),
          stat(t('participation.colAccepted'), formatNumber(p.accepted_answers || 0)),
          stat(t('participation.colReactionsGiven'), formatNumber(p.reactions_given || 0)),
          stat(t('participation.colReactionsReceived'), formatNumber(p.reactions_received || 0))),
        h('div', { class: 'rt-participation-card-writing' },
          h('span', { class: 'rt-participation-label' }, t('participation.colWriting')), ' ', writing(p)))))
  }

  sortBy (key) {
    const direction = this.sort.key === key
      ? (this.sort.direction === 'ascending' ? 'descending' : 'ascending')
      : firstDirection(key)
    this.sort = { key, direction }
    this.render()
    const button = this.body.querySelector(`.rt-sort[data-column="${key}"]`)
    if (button) button.focus()
    const column = COLUMNS.find((c) => c.key === key)
    announce(t(direction === 'ascending' ? 'participation.sortedAscending' : 'participation.sortedDescending', { column: t(column.label) }))
  }

  /** Per document, a small bar chart of edits over time. */
  activitySection () {
    const series = (this.report.activity || []).filter((s) => (s.edits || []).length)
    return h('section', { class: 'rt-participation-activity', 'aria-labelledby': 'participation-activity' },
      h('h3', { id: 'participation-activity' }, t('participation.activity')),
      series.length
        ? h('div', { class: 'rt-participation-charts' }, series.map((s) => activityChart(s)))
        : h('p', { class: 'rt-note' }, t('participation.noActivity')))
  }
}

/** One document's activity: its name, the bars (an image with a text summary), from and to. */
export function activityChart (series) {
  const { bars } = chartBars(series, CHART)
  const { from, to } = chartSpan(series, CHART.minSlots)
  const text = chartSummary(series)
  const picture = svg('svg', {
    class: 'rt-chart',
    viewBox: `0 0 ${CHART.width} ${CHART.height}`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': text
  },
  svg('title', {}, text),
  svg('line', { class: 'rt-chart-base', x1: 0, y1: CHART.height - 0.5, x2: CHART.width, y2: CHART.height - 0.5 }),
  ...bars.filter((b) => b.height > 0).map((b) => svg('rect', {
    class: 'rt-chart-bar', x: b.x, y: b.y, width: b.width, height: b.height
  }, svg('title', {}, barText(b)))))
  return h('figure', { class: 'rt-participation-chart', dataset: { document: series.document } },
    h('figcaption', {}, h('span', { class: 'rt-participation-doc' }, series.document), ' ',
      h('span', { class: 'rt-note' }, t('participation.editsCount', { count: bars.reduce((n, b) => n + b.edits, 0) }))),
    picture,
    h('div', { class: 'rt-chart-axis', 'aria-hidden': 'true' },
      h('span', {}, formatTime(from)), h('span', {}, formatTime(to))))
}

/**
 * "My contributions": this person's own summary and the threads they started (their
 * anonymous questions are not among them). openThread(id), onClosed() as for the page above.
 */
export async function myContributions ({ api, openThread = null, onClosed = null }) {
  const { dialog, status, body } = shell({
    id: 'contributions-title',
    title: t('contributions.title'),
    className: 'rt-contributions',
    onClosed
  })
  let mine
  try {
    mine = await api.get('/participation/me')
  } catch (error) {
    status.textContent = t('participation.loadFailed', { reason: error.message })
    return
  }
  if (!dialog.open) return
  status.textContent = ''
  const person = mine.person || {}
  const threads = mine.threads || []
  const now = Date.now()
  const stat = (label, value) => h('div', { class: 'rt-contributions-stat' },
    h('dt', {}, label), h('dd', {}, value))
  replace(body,
    h('dl', { class: 'rt-contributions-stats' },
      stat(t('participation.timePresent'), duration(person.present_seconds)),
      stat(t('contributions.comments'), formatNumber(person.comments || 0)),
      stat(t('contributions.questions'), formatNumber(person.questions || 0)),
      stat(t('contributions.answers'), formatNumber(person.answers || 0)),
      stat(t('contributions.accepted'), formatNumber(person.accepted_answers || 0)),
      stat(t('contributions.reactionsGiven'), formatNumber(person.reactions_given || 0)),
      stat(t('contributions.reactionsReceived'), formatNumber(person.reactions_received || 0))),
    h('section', { class: 'rt-contributions-writing', 'aria-labelledby': 'contributions-writing' },
      h('h3', { id: 'contributions-writing' }, t('contributions.writing')),
      documentsWritten(person).length || person.added || (typeof person.removed === 'number' && person.removed)
        ? writing(person)
        : h('p', { class: 'rt-note' }, t('contributions.noWriting'))),
    h('section', { class: 'rt-contributions-threads', 'aria-labelledby': 'contributions-threads' },
      h('h3', { id: 'contributions-threads' }, t('contributions.threads')),
      threads.length
        ? h('ol', { class: 'rt-participation-questions' }, threads.map((thread) => h('li', {},
          h('p', { class: 'rt-participation-meta' },
            h('span', { class: 'rt-pill' }, t(thread.kind === 'question' ? 'contributions.question' : 'contributions.comment')),
            thread.accepted ? [' ', h('span', { class: 'rt-pill rt-pill-accepted' }, t('contributions.answerAccepted'))] : null,
            ' ', thread.document || t('participation.wholeRoom')),
          threadLink(thread, openThread, () => dialog.close()),
          h('p', { class: 'rt-participation-meta' },
            t('contributions.replies', { count: thread.replies || 0 }),
            thread.created_at ? [' · ', agoTime(thread.created_at, now)] : null))))
        : h('p', { class: 'rt-note' }, t('contributions.noThreads'))),
    h('p', { class: 'rt-note rt-contributions-private' }, t('contributions.private'), ' ', t('participation.presentNote')))
}
