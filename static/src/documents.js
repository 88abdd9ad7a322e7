// The room's documents: the side panel's list (which is open, which are locked, who
// mentors them) and its form that creates one, empty or from one of the server's
// templates; and what the document area shows before any document exists.

import { announce, h, replace } from './dom.js'
import { hasMessage, t } from './i18n.js'

/** A template's title and description in the interface's language (the server's are English). */
function templateText (tpl) {
  const key = `template.${tpl.key}`
  return hasMessage(`${key}.title`)
    ? { title: t(`${key}.title`), description: t(`${key}.description`) }
    : { title: tpl.title, description: tpl.description }
}

export class DocumentList {
  /**
   * templates: the vocabulary's [{key, title, description}]; canCreate: offer to
   * create documents; onOpen(name): open a document; onCreated(document): one was created;
   * mentorOf(document): how the list names its mentor ("Mentor: Dana"), or null.
   */
  constructor ({ api, templates, canCreate, onOpen, onCreated, mentorOf = () => null }) {
    this.api = api
    this.templates = templates
    this.canCreate = canCreate
    this.onOpen = onOpen
    this.onCreated = onCreated
    this.mentorOf = mentorOf
    this.list = h('ul', { class: 'rt-docs', 'aria-label': t('documents.list') })
    this.form = canCreate ? this.newDocumentForm() : null
  }

  /** List `documents`, marking the one named `open`, the locked ones and the mentored ones. */
  render (documents, open) {
    replace(this.list, documents.map((d) => {
      const mentor = this.mentorOf(d)
      return h('li', {},
        h('button', {
          class: 'rt-doc-button',
          'aria-current': open === d.name ? 'page' : null,
          onclick: () => this.onOpen(d.name)
        }, d.name, d.locked
          ? h('span', { class: 'rt-pill', title: d.locked_by ? t('documents.lockedBy', { name: d.locked_by }) : null }, t('documents.locked'))
          : null,
        mentor ? h('span', { class: 'rt-pill rt-mentor-pill' }, mentor) : null))
    }))
    if (!documents.length) this.list.append(h('li', { class: 'rt-empty' }, t('documents.none')))
  }

  /** Create a document; the error, if any, shows in `error` and is read out. */
  async create (body, error) {
    error.hidden = true
    try {
      const { document: created } = await this.api.post('/documents', body)
      this.onCreated(created)
      return true
    } catch (failure) {
      error.hidden = false
      error.textContent = failure.message
      announce(failure.message)
      return false
    }
  }

  newDocumentForm () {
    const name = h('input', { id: 'new-doc-name', maxlength: 100, required: true, placeholder: t('documents.namePlaceholder') })
    const template = h('select', { id: 'new-doc-template' },
      h('option', { value: '' }, t('documents.empty')),
      this.templates.map((tpl) => h('option', { value: tpl.key }, templateText(tpl).title)))
    const error = h('p', { class: 'rt-error', role: 'alert', hidden: true })
    return h('form', {
      class: 'rt-new-doc',
      onsubmit: async (event) => {
        event.preventDefault()
        const body = { name: name.value.trim() }
        if (template.value) body.template = template.value
        if (await this.create(body, error)) name.value = ''
      }
    }, h('label', { for: 'new-doc-name' }, t('documents.new')), name,
    h('label', { for: 'new-doc-template' }, t('documents.template')), template,
    error,
    h('button', { type: 'submit' }, t('documents.create')))
  }

  /**
   * What the document area shows while the room has no document. Those who run the
   * session create the first one there, choosing how it starts; the others learn that
   * it comes and what they can do meanwhile: ask (`onAsk`, when `canAsk`) or, if they
   * may create documents, start one of their own. A mentor from outside the cohort
   * (`mentor`) sees only the documents they mentor: none, for now.
   */
  emptyState ({ moderate, canAsk, onAsk, mentor = false }) {
    if (mentor) {
      return h('section', { class: 'rt-first-doc', 'aria-labelledby': 'first-doc-title' },
        h('h2', { id: 'first-doc-title' }, t('mentor.emptyTitle')),
        h('p', {}, t('mentor.emptyHint')))
    }
    const ask = canAsk
      ? h('button', { type: 'button', class: 'rt-primary', onclick: onAsk }, t('documents.askMeanwhile'))
      : null
    if (this.canCreate && moderate) {
      return h('section', { class: 'rt-first-doc', 'aria-labelledby': 'first-doc-title' },
        h('h2', { id: 'first-doc-title' }, t('documents.firstTitle')),
        h('p', {}, t('documents.firstHint')),
        this.firstDocumentForm())
    }
    return h('section', { class: 'rt-first-doc', 'aria-labelledby': 'first-doc-title' },
      h('h2', { id: 'first-doc-title' }, t('documents.waitingTitle')),
      h('p', {}, t('documents.waitingHint')),
      h('p', {}, canAsk ? t('documents.waitingAsk') : t('documents.waitingRead')),
      ask,
      this.canCreate
        ? h('details', { class: 'rt-first-doc-own' },
          h('summary', {}, t('documents.startOwn')),
          this.firstDocumentForm())
        : null)
  }

  /** The name and how it starts (empty, or a template, each described), as choices. */
  firstDocumentForm () {
    const name = h('input', { id: 'first-doc-name', maxlength: 100, required: true, autocomplete: 'off', placeholder: t('documents.namePlaceholder') })
    let filled = ''
    const choice = (key, title, description) => {
      const radio = h('input', {
        type: 'radio',
        name: 'first-doc-start',
        value: key,
        id: 'first-doc-start-' + (key || 'empty'),
        onchange: () => {
          // The template's title names the document unless a name was typed.
          if (!name.value.trim() || name.value === filled) {
            filled = key ? title : ''
            name.value = filled
          }
        }
      })
      return h('label', { class: 'rt-start-choice', for: radio.id }, radio,
        h('span', { class: 'rt-start-text' },
          h('span', { class: 'rt-start-title' }, title),
          h('span', { class: 'rt-start-description' }, description)))
    }
    const choices = [choice('', t('documents.emptyPage'), t('documents.emptyPageHint')),
      ...this.templates.map((tpl) => choice(tpl.key, templateText(tpl).title, templateText(tpl).description))]
    choices[0].querySelector('input').checked = true
    const error = h('p', { class: 'rt-error', role: 'alert', hidden: true })
    const form = h('form', {
      class: 'rt-first-doc-form',
      onsubmit: async (event) => {
        event.preventDefault()
        const picked = form.querySelector('input[name="first-doc-start"]:checked')
        const body = { name: name.value.trim() }
        if (picked && picked.value) body.template = picked.value
        await this.create(body, error)
      }
    },
    h('fieldset', { class: 'rt-start-choices' }, h('legend', {}, t('documents.startFrom')), choices),
    h('label', { for: 'first-doc-name' }, t('documents.name')), name,
    error,
    h('button', { type: 'submit', class: 'rt-primary' }, t('documents.createFirst')))
    return form
  }
}
