// The side panel's documents: the list (which is open, which are locked) and the form
// that creates one, empty or from one of the server's templates.

import { announce, h, replace } from './dom.js'

export class DocumentList {
  /**
   * templates: the vocabulary's [{key, title}]; canCreate: show the form;
   * onOpen(name): open a document; onCreated(document): one was created.
   */
  constructor ({ api, templates, canCreate, onOpen, onCreated }) {
    this.api = api
    this.onOpen = onOpen
    this.onCreated = onCreated
    this.list = h('ul', { class: 'rt-docs', 'aria-label': 'Documents' })
    this.form = canCreate ? this.newDocumentForm(templates) : null
  }

  /** List `documents`, marking the one named `open`. */
  render (documents, open) {
    replace(this.list, documents.map((d) => h('li', {},
      h('button', {
        class: 'rt-doc-button',
        'aria-current': open === d.name ? 'page' : null,
        onclick: () => this.onOpen(d.name)
      }, d.name, d.locked ? h('span', { class: 'rt-pill' }, 'locked') : null))))
    if (!documents.length) this.list.append(h('li', { class: 'rt-empty' }, 'No documents yet.'))
  }

  newDocumentForm (templates) {
    const name = h('input', { id: 'new-doc-name', maxlength: 100, required: true, placeholder: 'e.g. Style guide' })
    const template = h('select', { id: 'new-doc-template' },
      h('option', { value: '' }, 'Empty'),
      templates.map((t) => h('option', { value: t.key }, t.title)))
    return h('form', {
      class: 'rt-new-doc',
      onsubmit: async (event) => {
        event.preventDefault()
        try {
          const body = { name: name.value.trim() }
          if (template.value) body.template = template.value
          const { document: created } = await this.api.post('/documents', body)
          name.value = ''
          this.onCreated(created)
        } catch (error) {
          announce(error.message)
        }
      }
    }, h('label', { for: 'new-doc-name' }, 'New document'), name,
    h('label', { for: 'new-doc-template' }, 'Template'), template,
    h('button', { type: 'submit' }, 'Create'))
  }
}
