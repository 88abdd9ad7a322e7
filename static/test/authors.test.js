// Who wrote what: text runs of a Yjs document at the editor's positions (checked against
// the document y-tiptap builds from it), their owners, the legend, the diff's layout.

import assert from 'node:assert/strict'
import { test } from 'node:test'

import { getSchema } from '@tiptap/core'
import { TaskItem, TaskList } from '@tiptap/extension-list'
import StarterKit from '@tiptap/starter-kit'
import { initProseMirrorDoc, prosemirrorJSONToYXmlFragment } from '@tiptap/y-tiptap'
import * as Y from 'yjs'

import {
  authorSpans, changedBy, diffSections, hasChanges, headingTag, legend, mergeRuns, newClients,
  ownerOf, personOf, textRuns
} from '../src/logic/authors.js'

const schema = getSchema([StarterKit, TaskList, TaskItem])

const ANA = 101
const BEA = 202

function docOf (client) {
  const ydoc = new Y.Doc()
  ydoc.clientID = client
  return ydoc
}

function sync (from, to) {
  Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)))
}

const text = (value, marks) => (marks ? { type: 'text', text: value, marks } : { type: 'text', text: value })
const para = (...content) => ({ type: 'paragraph', content })

/** Ana's document: a heading, a paragraph with bold text and a line break, a rule, a list. */
function anasDocument () {
  const ana = docOf(ANA)
  prosemirrorJSONToYXmlFragment(schema, {
    type: 'doc',
    content: [
      { type: 'heading', attrs: { level: 2 }, content: [text('Plan')] },
      para(text('We meet '), text('weekly', [{ type: 'bold' }]), { type: 'hardBreak' }, text('at noon.')),
      { type: 'horizontalRule' },
      { type: 'bulletList', content: [{ type: 'listItem', content: [para(text('Bring tea'))] }] },
      { type: 'paragraph' }
    ]
  }, ana.getXmlFragment('default'))
  return ana
}

/** The runs of `ydoc`, checked against the editor document y-tiptap builds from it. */
function runsOf (ydoc) {
  const fragment = ydoc.getXmlFragment('default')
  const { doc, mapping } = initProseMirrorDoc(fragment, schema)
  const runs = textRuns(fragment, {
    isText: (type) => type instanceof Y.XmlText,
    nodeOf: (type) => mapping.get(type) || null,
    size: doc.content.size
  })
  assert.ok(runs, 'the runs match the editor document')
  return { runs, doc, texts: runs.map(({ from, to, client }) => [doc.textBetween(from, to, '', '⏎'), client]) }
}

test('every run of text sits where the editor shows it, including formatted text and leaves', () => {
  const { texts } = runsOf(anasDocument())
  assert.deepEqual(texts, [
    ['Plan', ANA], ['We meet weekly', ANA], ['at noon.', ANA], ['Bring tea', ANA]
  ])
})

test('text inserted by another client, and deletions, are attributed run by run', () => {
  const ana = anasDocument()
  const bea = docOf(BEA)
  sync(ana, bea)
  const paragraph = bea.getXmlFragment('default').get(1)
  const first = paragraph.get(0)
  bea.transact(() => {
    first.insert('We meet '.length, 'every ')
    first.delete(0, 3) // "We "
  })
  const heading = bea.getXmlFragment('default').get(0).get(0)
  heading.insert(4, ' B')
  sync(bea, ana)
  const { texts } = runsOf(ana)
  assert.deepEqual(texts, [
    ['Plan', ANA], [' B', BEA], ['meet ', ANA], ['every ', BEA], ['weekly', ANA], ['at noon.', ANA],
    ['Bring tea', ANA]
  ])
})

test('a document the editor does not show the same way gives no runs', () => {
  const ana = anasDocument()
  const fragment = ana.getXmlFragment('default')
  const { doc, mapping } = initProseMirrorDoc(fragment, schema)
  const options = { isText: (type) => type instanceof Y.XmlText, nodeOf: (type) => mapping.get(type) || null }
  assert.equal(textRuns(fragment, { ...options, size: doc.content.size + 1 }), null)
  // An element the editor does not show yet (added after the editor document was built).
  fragment.insert(0, [new Y.XmlElement('paragraph')])
  assert.equal(textRuns(fragment, options), null)
  // An element whose editor node is smaller than its content.
  const small = (type) => (type === fragment.get(2) ? { nodeSize: 3, isLeaf: false } : mapping.get(type) || { nodeSize: 2, isLeaf: false })
  assert.equal(textRuns(fragment, { ...options, nodeOf: small }), null)
})

test('an empty document has no runs', () => {
  const empty = docOf(ANA)
  assert.deepEqual(runsOf(empty).runs, [])
})

test('a 20-page document is attributed in a few milliseconds', () => {
  const ana = docOf(ANA)
  const paragraphs = Array.from({ length: 400 }, (_, i) => para(text(`Paragraph ${i} `.repeat(12))))
  prosemirrorJSONToYXmlFragment(schema, { type: 'doc', content: paragraphs }, ana.getXmlFragment('default'))
  const bea = docOf(BEA)
  sync(ana, bea)
  bea.transact(() => {
    for (let i = 0; i < 400; i += 3) bea.getXmlFragment('default').get(i).get(0).insert(5, 'x')
  })
  sync(bea, ana)
  const fragment = ana.getXmlFragment('default')
  const { doc, mapping } = initProseMirrorDoc(fragment, schema)
  const options = { isText: (type) => type instanceof Y.XmlText, nodeOf: (type) => mapping.get(type) || null, size: doc.content.size }
  const started = performance.now()
  const runs = textRuns(fragment, options)
  const spent = performance.now() - started
  assert.equal(runs.length, 400 + 2 * 134)
  assert.ok(spent < 50, `took ${spent} ms`)
})

test('runs become people: neighbours by one person merge, unknown clients are null', () => {
  const runs = [
    { from: 1, to: 5, client: 1 }, { from: 5, to: 8, client: 2 }, { from: 8, to: 9, client: 3 },
    { from: 11, to: 12, client: 3 }
  ]
  const clients = { 1: 'ana', 2: 'ana' }
  assert.deepEqual(authorSpans(runs, clients), [
    { from: 1, to: 8, participant: 'ana' }, { from: 8, to: 9, participant: null },
    { from: 11, to: 12, participant: null }
  ])
  assert.equal(ownerOf(clients, 2), 'ana')
  assert.equal(ownerOf(clients, 3), null)
  assert.equal(ownerOf({}, 'constructor'), null)
})

test('client ids nobody named yet are asked about once', () => {
  const runs = [{ from: 0, to: 1, client: 9 }, { from: 1, to: 2, client: 3 }, { from: 2, to: 3, client: 9 },
    { from: 3, to: 4, client: 1 }]
  assert.deepEqual(newClients(runs, { 1: 'ana' }), [3, 9])
  assert.deepEqual(newClients(runs, { 1: 'ana' }, new Set([9])), [3])
  assert.deepEqual(newClients(runs, { 1: 'ana', 3: 'bea', 9: 'cy' }), [])
})

test('the legend lists who wrote most first, unknown authors last', () => {
  const people = [
    { participant_id: 'ana', name: 'Ana', colour: '#1f77b4' },
    { participant_id: 'bea', name: 'Bea', colour: '#2ca02c' }
  ]
  const spans = [
    { from: 0, to: 4, participant: 'ana' }, { from: 4, to: 30, participant: null },
    { from: 30, to: 40, participant: 'bea' }, { from: 40, to: 41, participant: 'ana' },
    { from: 41, to: 42, participant: 'gone' }
  ]
  assert.deepEqual(legend(spans, people), [
    { participant: 'bea', name: 'Bea', colour: '#2ca02c', chars: 10 },
    { participant: 'ana', name: 'Ana', colour: '#1f77b4', chars: 5 },
    { participant: null, name: null, colour: null, chars: 27 }
  ])
  assert.equal(personOf(people, null), null)
  assert.equal(personOf(people, 'bea').name, 'Bea')
})

const block = (tag, path, change = 'same', runs = [{ text: 'x', change: 'same', author: null }]) =>
  ({ tag, level: tag === 'heading' ? 1 : null, path, change, runs })

test('a diff is laid out as blocks and lists, nested items deeper', () => {
  const blocks = [
    block('heading', []),
    block('paragraph', ['bulletList', 'listItem']),
    block('paragraph', ['bulletList', 'listItem', 'bulletList', 'listItem']),
    block('paragraph', ['orderedList', 'listItem']),
    block('paragraph', ['blockquote']),
    block('codeBlock', [])
  ]
  const sections = diffSections(blocks)
  assert.deepEqual(sections.map((s) => s.kind === 'list' ? [s.tag, s.items.map((i) => i.depth)] : s.block.tag), [
    'heading', ['ul', [1, 2]], ['ol', [1]], 'paragraph', 'codeBlock'
  ])
  assert.equal(sections[3].block.quote, true)
  assert.equal(sections[0].block.quote, false)
  assert.deepEqual(diffSections([block('paragraph', null)])[0].kind, 'block')
})

test('a diff without added or removed text has no changes', () => {
  assert.equal(hasChanges({ blocks: [block('paragraph', [])] }), false)
  assert.equal(hasChanges({ blocks: [] }), false)
  assert.equal(hasChanges({ blocks: [block('paragraph', [], 'removed')] }), true)
  assert.equal(hasChanges({
    blocks: [block('paragraph', [], 'changed', [{ text: 'a', change: 'added', author: 'ana' }])]
  }), true)
})

test('who changed most comes first; headings sit below the view\'s own title', () => {
  const people = [
    { participant_id: 'a', name: 'Ana', added: 1, removed: 0 },
    { participant_id: 'b', name: 'Bea', added: 3, removed: 4 },
    { participant_id: 'c', name: 'Cy', added: 1, removed: 0 }
  ]
  assert.deepEqual(changedBy(people).map((p) => p.name), ['Bea', 'Ana', 'Cy'])
  assert.equal(headingTag(1), 'h3')
  assert.equal(headingTag(3), 'h5')
  assert.equal(headingTag(6), 'h6')
  assert.equal(headingTag(null), 'h3')
})

test('runs of one change by one author are shown as one', () => {
  const runs = [
    { text: 'It ', change: 'added', author: 'mia' }, { text: 'jumps', change: 'added', author: 'mia' },
    { text: ' high', change: 'added', author: 'max' }, { text: '.', change: 'same', author: 'mia' },
    { text: 'old', change: 'removed', author: null }, { text: ' words', change: 'removed', author: null }
  ]
  assert.deepEqual(mergeRuns(runs), [
    { text: 'It jumps', change: 'added', author: 'mia' }, { text: ' high', change: 'added', author: 'max' },
    { text: '.', change: 'same', author: 'mia' }, { text: 'old words', change: 'removed', author: null }
  ])
  assert.equal(runs[0].text, 'It ')
})
