// One document open in the editor: TipTap 3 bound to a Y.Doc that doc-sync.js keeps in
// this browser and syncs with the server.

import { Editor, Extension } from '@tiptap/core'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import { TaskItem, TaskList } from '@tiptap/extension-list'
import StarterKit from '@tiptap/starter-kit'
import { Plugin, PluginKey } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'
import {
  absolutePositionToRelativePosition,
  relativePositionToAbsolutePosition,
  ySyncPluginKey
} from '@tiptap/y-tiptap'
import * as Y from 'yjs'

import { RoomApi } from './api.js'
import { AuthorsHighlight, AuthorsView } from './authors.js'
import { DocumentSync } from './doc-sync.js'
import { t } from './i18n.js'
import { colourClass } from './logic/colours.js'

/** At most `max` characters of `text`, never cutting a character (an emoji) in half. */
function clip (text, max) {
  const characters = Array.from(text)
  return characters.length <= max ? text : characters.slice(0, max).join('')
}

const anchorsKey = new PluginKey('roundtable-anchors')

// Highlights of commented passages, recomputed whenever the threads or the text change.
const Anchors = Extension.create({
  name: 'roundtableAnchors',
  addStorage () {
    return { ranges: [] }
  },
  addProseMirrorPlugins () {
    const storage = this.storage
    return [new Plugin({
      key: anchorsKey,
      props: {
        decorations (state) {
          const decorations = []
          for (const range of storage.ranges) {
            const from = range.resolve(state)
            if (from && from.from < from.to) {
              decorations.push(Decoration.inline(from.from, from.to, {
                class: range.active ? 'rt-anchor rt-anchor-active' : 'rt-anchor',
                'data-thread': String(range.id)
              }))
            }
          }
          return DecorationSet.create(state.doc, decorations)
        }
      }
    })]
  }
})

function caret (user) {
  const caret = document.createElement('span')
  caret.className = 'collaboration-carets__caret ' + colourClass(user.color)
  if (user.id) caret.dataset.participant = user.id
  // The label's background is the caret's colour (currentColor); its text is white.
  const label = document.createElement('span')
  label.className = 'collaboration-carets__label'
  const name = document.createElement('span')
  name.className = 'collaboration-carets__name'
  name.textContent = user.name || t('editor.someone')
  label.append(name)
  caret.append(label)
  return caret
}

function toBase64 (bytes) {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}

function fromBase64 (text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
}

export class DocumentEditor {
  /**
   * element: where the editor goes; me: {id, name, colour}; editable: role allows editing
   * (only then is a copy kept in this browser). onStatus(status) and onChange() are
   * called as the connection and text change.
   */
  constructor ({ element, room, name, token, me, editable, onStatus, onChange, onSelection }) {
    this.name = name
    this.roleEditable = editable
    this.locked = false
    // Whether the document's content has arrived once (comment passages resolve in it).
    this.loaded = false
    this.sync = DocumentSync.open({
      room,
      name,
      token,
      participant: me.id,
      writable: editable,
      keep: editable,
      onStatus,
      onSynced: () => { this.loaded = true; onChange() }
    })
    this.ydoc = this.sync.ydoc
    this.provider = this.sync.provider
    this.editor = new Editor({
      element,
      injectCSS: false,
      editable,
      extensions: [
        StarterKit.configure({
          undoRedo: false, // Collaboration brings a per-user undo
          link: { openOnClick: false, autolink: true, protocols: ['mailto'] }
        }),
        TaskList,
        TaskItem.configure({ nested: true }),
        Collaboration.configure({ document: this.ydoc, field: 'default' }),
        CollaborationCaret.configure({
          provider: this.provider,
          user: { id: me.id, name: me.name, color: me.colour },
          render: caret,
          selectionRender: (user) => ({ class: 'rt-selection ' + colourClass(user.color) })
        }),
        Anchors,
        AuthorsHighlight
      ],
      editorProps: {
        attributes: {
          class: 'rt-prose',
          role: 'textbox',
          'aria-multiline': 'true',
          'aria-label': t('editor.document', { name })
        }
      },
      onUpdate: () => onChange(),
      onSelectionUpdate: () => onSelection && onSelection(this.selectedText())
    })
    // Who wrote what (the toolbar's Authors switches it on), for everyone who reads.
    this.authors = new AuthorsView({
      editor: this.editor, ydoc: this.ydoc, api: new RoomApi(room, token), name, me, container: element
    })
  }

  setLocked (locked) {
    this.locked = locked
    this.editor.setEditable(this.roleEditable && !locked)
    this.sync.setWritable(this.roleEditable && !locked)
  }

  get editable () {
    return this.editor.isEditable
  }

  selectedText () {
    const { from, to } = this.editor.state.selection
    return from < to ? this.editor.state.doc.textBetween(from, to, '\n') : ''
  }

  /** The selection as an anchor {start, end, quote} (Yjs relative positions), or null. */
  selectionAnchor () {
    const { from, to } = this.editor.state.selection
    if (from >= to) return null
    const ystate = ySyncPluginKey.getState(this.editor.state)
    const encode = (pos) => toBase64(Y.encodeRelativePosition(
      absolutePositionToRelativePosition(pos, ystate.type, ystate.binding.mapping)))
    return { start: encode(from), end: encode(to), quote: clip(this.selectedText(), 2000) }
  }

  /** Where an anchor is now: {from, to}, or null if its positions do not resolve. */
  resolveAnchor (anchor, state = this.editor.state) {
    const ystate = ySyncPluginKey.getState(state)
    if (!ystate || !ystate.binding) return null
    try {
      const resolve = (b64) => relativePositionToAbsolutePosition(
        this.ydoc, ystate.type, Y.decodeRelativePosition(fromBase64(b64)), ystate.binding.mapping)
      const from = resolve(anchor.start)
      const to = resolve(anchor.end)
      if (from === null || to === null) return null
      return { from: Math.min(from, to), to: Math.max(from, to) }
    } catch {
      return null
    }
  }

  /** Highlight the passages of these threads ({id, anchor}); `active` marks one. */
  setAnchors (threads, active) {
    if (this.editor.isDestroyed || !this.editor.isInitialized) return
    const storage = this.editor.storage.roundtableAnchors
    storage.ranges = threads.filter((t) => t.anchor).map((t) => ({
      id: t.id,
      active: t.id === active,
      resolve: (state) => this.resolveAnchor(t.anchor, state)
    }))
    this.editor.view.dispatch(this.editor.state.tr.setMeta(anchorsKey, true))
  }

  /** Select and scroll to a thread's passage; false when it is detached. */
  reveal (anchor) {
    const range = this.resolveAnchor(anchor)
    if (!range || range.from === range.to) return false
    this.editor.chain().setTextSelection(range).scrollIntoView().run()
    return true
  }

  /** Scroll a participant's caret into view (following them). */
  showCaretOf (participantId) {
    if (this.editor.isDestroyed || !this.editor.isInitialized) return
    const caretEl = this.editor.view.dom.querySelector(`[data-participant="${CSS.escape(participantId)}"]`)
    if (caretEl) caretEl.scrollIntoView({ block: 'center', behavior: 'smooth' })
  }

  onAwareness (callback) {
    this.provider.awareness.on('change', callback)
    this.awarenessListeners = [...(this.awarenessListeners || []), callback]
  }

  /** Close the editor; its document syncs on until the server has this page's edits. */
  destroy () {
    this.authors.destroy()
    this.editor.destroy()
    for (const callback of this.awarenessListeners || []) this.provider.awareness.off('change', callback)
    this.sync.release()
  }
}
