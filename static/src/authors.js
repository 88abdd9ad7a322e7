// The authors view of the open document: when switched on (remembered in this browser),
// each person's text is tinted in their colour with their name on hover, and a legend
// above the text names everyone with their colour. Text whose writer the server does
// not know is shown as by an unknown author.
//
// Attribution: every Yjs item of text was written by one Yjs client; the server tells
// which participant owns each client (GET …/authors). The runs of text are read from
// the Y.XmlFragment the editor is bound to (logic/authors.js), at most once per frame.

import { Extension } from '@tiptap/core'
import { Plugin, PluginKey } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'
import { ySyncPluginKey } from '@tiptap/y-tiptap'
import * as Y from 'yjs'

import { doc } from './api.js'
import { h, replace } from './dom.js'
import { t } from './i18n.js'
import { authorSpans, legend, newClients, personOf, textRuns } from './logic/authors.js'
import { colourClass } from './logic/colours.js'

const STORAGE_KEY = 'roundtable:authors'
// The least time between two requests for the document's authors.
const REFETCH_MS = 3000

const authorsKey = new PluginKey('roundtable-authors')

/** The editor extension that shows the authors view's decorations. */
export const AuthorsHighlight = Extension.create({
  name: 'roundtableAuthors',
  addProseMirrorPlugins () {
    return [new Plugin({
      key: authorsKey,
      state: {
        init: () => DecorationSet.empty,
        // A new set comes as the transaction's meta; otherwise the set follows the edits.
        apply: (tr, set) => {
          const next = tr.getMeta(authorsKey)
          if (next) return next
          return tr.docChanged ? set.map(tr.mapping, tr.doc) : set
        }
      },
      props: {
        decorations: (state) => authorsKey.getState(state)
      }
    })]
  }
})

/** Whether this browser shows authors (the choice is kept per browser). */
export function authorsShown () {
  try { return localStorage.getItem(STORAGE_KEY) === 'on' } catch { return false }
}

function remember (on) {
  try { localStorage.setItem(STORAGE_KEY, on ? 'on' : 'off') } catch { /* private mode: this page only */ }
}

/** The class and hover text of a person's text (`person` null: an unknown author). */
function look (person) {
  return person
    ? { class: 'rt-author ' + colourClass(person.colour), title: person.name }
    : { class: 'rt-author rt-author-unknown', title: t('authors.unknown') }
}

export class AuthorsView {
  /**
   * editor: the TipTap editor (with AuthorsHighlight); ydoc: its Y.Doc; api: the room's
   * RoomApi; name: the document; me: {id, name, colour} (the text typed here is theirs
   * before the server has said so); container: where the legend goes, above the text.
   */
  constructor ({ editor, ydoc, api, name, me, container }) {
    this.editor = editor
    this.ydoc = ydoc
    this.api = api
    this.name = name
    this.me = me
    this.on = false
    this.clients = {}
    this.people = []
    this.asked = new Set()
    this.fetched = false
    this.lastFetch = -Infinity
    this.fetchTimer = null
    this.fetching = null
    this.frame = null
    this.retries = 0
    this.legend = h('section', { class: 'rt-authors-legend', 'aria-label': t('authors.legend'), hidden: true })
    container.prepend(this.legend)
    this.onTransaction = ({ transaction }) => {
      if (this.on && transaction.docChanged) this.schedule()
    }
    editor.on('transaction', this.onTransaction)
    if (authorsShown()) this.set(true)
  }

  toggle () {
    this.set(!this.on)
  }

  /** Switch the view on or off (and remember the choice in this browser). */
  set (on) {
    if (on === this.on) return
    this.on = on
    remember(on)
    this.legend.hidden = !on
    if (on) {
      if (!this.fetched) this.fetch()
      this.schedule()
    } else {
      if (this.frame !== null) cancelAnimationFrame(this.frame)
      this.frame = null
      this.show(DecorationSet.empty)
      replace(this.legend)
    }
  }

  /** Recompute at the next animation frame (once, however many edits come first). */
  schedule () {
    if (this.frame !== null || this.destroyed) return
    this.frame = requestAnimationFrame(() => {
      this.frame = null
      this.compute()
    })
  }

  /** The owners of the Yjs clients: the server's, and this page's own client. */
  owners () {
    return { ...this.clients, [String(this.ydoc.clientID)]: this.me.id }
  }

  /** Everyone known: the server's people, and this person until the server lists them. */
  everyone () {
    if (personOf(this.people, this.me.id)) return this.people
    return [...this.people, { participant_id: this.me.id, name: this.me.name, colour: this.me.colour }]
  }

  compute () {
    const editor = this.editor
    if (!this.on || editor.isDestroyed || !editor.view) return
    const state = editor.state
    const ystate = ySyncPluginKey.getState(state)
    if (!ystate || !ystate.binding) return this.retry()
    const mapping = ystate.binding.mapping
    const runs = textRuns(ystate.type, {
      isText: (type) => type instanceof Y.XmlText,
      nodeOf: (type) => {
        const node = mapping.get(type)
        return node && !Array.isArray(node) ? node : null
      },
      size: state.doc.content.size
    })
    // The editor and the Y document disagree between an edit and its rendering.
    if (runs === null) return this.retry()
    this.retries = 0
    const owners = this.owners()
    const spans = authorSpans(runs, owners)
    const people = this.everyone()
    const decorations = []
    for (const { from, to, participant } of spans) {
      decorations.push(Decoration.inline(from, to, look(personOf(people, participant))))
    }
    this.show(DecorationSet.create(state.doc, decorations))
    this.showLegend(legend(spans, people))
    const unknown = newClients(runs, owners, this.asked)
    if (unknown.length) this.fetch()
  }

  retry () {
    if (this.retries++ < 10) this.schedule()
  }

  show (set) {
    const editor = this.editor
    if (editor.isDestroyed || !editor.view) return
    editor.view.dispatch(editor.state.tr.setMeta(authorsKey, set).setMeta('addToHistory', false))
  }

  showLegend (rows) {
    const items = rows.map((row) => {
      const person = row.participant === null ? null : row
      return h('li', { class: 'rt-authors-person' },
        h('span', {
          class: 'rt-authors-swatch ' + (person ? colourClass(person.colour) : 'rt-author-unknown'),
          'aria-hidden': 'true'
        }),
        person ? person.name : t('authors.unknown'))
    })
    replace(this.legend,
      h('span', { class: 'rt-authors-title' }, t('authors.writtenBy')),
      items.length ? h('ul', { class: 'rt-authors-people' }, items) : h('span', { class: 'rt-note' }, t('authors.noText')))
  }

  /** Ask the server who owns which client, at most once every few seconds. */
  fetch () {
    if (this.fetching || this.fetchTimer !== null || this.destroyed) return
    const wait = this.lastFetch + REFETCH_MS - performance.now()
    if (wait > 0) {
      this.fetchTimer = setTimeout(() => { this.fetchTimer = null; this.fetch() }, wait)
      return
    }
    this.lastFetch = performance.now()
    const asking = new Set(this.lastRunClients())
    this.fetching = this.api.get(doc(this.name) + '/authors').then(({ clients, people }) => {
      if (this.destroyed) return
      this.clients = clients || {}
      this.people = people || []
      this.fetched = true
      // Clients still unknown after this answer are not asked about again.
      for (const client of asking) this.asked.add(client)
      this.schedule()
    }).catch(() => {
      // Offline, or no longer allowed: the view shows what it knows.
      this.fetched = true
    }).finally(() => { this.fetching = null })
  }

  /** The clients whose text the editor shows now (asked about in the next request). */
  lastRunClients () {
    const ystate = ySyncPluginKey.getState(this.editor.state)
    if (!ystate || !ystate.binding) return []
    const clients = new Set()
    const walk = (parent) => {
      for (let item = parent._start; item !== null; item = item.right) {
        if (item.deleted) continue
        clients.add(item.id.client)
        const type = item.content && item.content.type
        if (type) walk(type)
      }
    }
    walk(ystate.type)
    return clients
  }

  destroy () {
    this.destroyed = true
    if (this.frame !== null) cancelAnimationFrame(this.frame)
    if (this.fetchTimer !== null) clearTimeout(this.fetchTimer)
    this.editor.off('transaction', this.onTransaction)
    this.legend.remove()
  }
}
