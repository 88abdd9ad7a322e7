// The toolbar above the editor: formatting (pressed while the selection has it), then
// Comment, Ask, Export and, for facilitators, Lock and Versions.

import { doc } from './api.js'
import { announce, h, replace } from './dom.js'
import { mayComment } from './logic/permissions.js'
import { versionsDialog } from './versions.js'

export class Toolbar {
  /** getEditor(): the open DocumentEditor; onComment(), onAsk(): start a comment, a question. */
  constructor ({ root, api, me, getEditor, onComment, onAsk }) {
    this.root = root
    this.api = api
    this.me = me
    this.getEditor = getEditor
    this.onComment = onComment
    this.onAsk = onAsk
    this.pressed = []
  }

  /** Build the toolbar for the open document, whose list entry is `current`. */
  render (current) {
    const editor = this.getEditor()
    const e = () => this.getEditor().editor
    const can = editor.editable
    this.pressed = []
    const button = (label, run, active) => {
      const el = h('button', {
        type: 'button',
        class: 'rt-tool',
        'aria-pressed': active ? 'false' : null,
        disabled: !can,
        onclick: () => run(e().chain().focus()).run()
      }, label)
      if (active) this.pressed.push([el, active])
      return el
    }
    const tool = (label, onclick, attrs = {}) => h('button', { type: 'button', class: 'rt-tool', ...attrs, onclick }, label)
    const moderate = this.me.can.moderate
    replace(this.root,
      button('Bold', (c) => c.toggleBold(), () => e().isActive('bold')),
      button('Italic', (c) => c.toggleItalic(), () => e().isActive('italic')),
      button('Heading', (c) => c.toggleHeading({ level: 2 }), () => e().isActive('heading')),
      button('List', (c) => c.toggleBulletList(), () => e().isActive('bulletList')),
      button('Numbered', (c) => c.toggleOrderedList(), () => e().isActive('orderedList')),
      button('Checklist', (c) => c.toggleTaskList(), () => e().isActive('taskList')),
      button('Quote', (c) => c.toggleBlockquote(), () => e().isActive('blockquote')),
      button('Link', (c) => {
        const href = prompt('Link address (https://…)')
        return href ? c.setLink({ href }) : c
      }),
      button('Undo', (c) => c.undo()),
      button('Redo', (c) => c.redo()),
      h('span', { class: 'rt-grow' }),
      mayComment(this.me.can, editor.mentorId === this.me.id)
        ? tool('Comment', () => this.onComment(), { class: 'rt-tool rt-primary' })
        : null,
      tool('Ask', () => this.onAsk()),
      tool('Export', () => this.exportDocument(editor.name, 'markdown')),
      moderate
        ? tool(current.locked ? 'Unlock' : 'Lock', () => this.toggleLock(current), { 'aria-pressed': String(Boolean(current.locked)) })
        : null,
      moderate ? tool('Versions', () => versionsDialog(this.api, editor.name)) : null)
    this.update()
  }

  /** Keep the formatting buttons' pressed state in step with the selection. */
  update () {
    const editor = this.getEditor()
    if (!editor || !editor.editor.isInitialized) return
    for (const [el, active] of this.pressed) el.setAttribute('aria-pressed', String(active()))
  }

  async exportDocument (name, format) {
    try {
      await this.api.download(doc(name) + '/export?format=' + format)
    } catch (error) {
      announce(error.message)
    }
  }

  async toggleLock (current) {
    try {
      await this.api.put(doc(current.name) + '/lock', { locked: !current.locked })
    } catch (error) {
      announce(error.message)
    }
  }
}
