// The discussion's composer: a new comment (on the selected passage or the whole
// document) or, in the questions tab, a question (anonymous, post-first).

import { h } from './dom.js'
import { mayAskAnonymously, mayComment } from './logic/permissions.js'

/** The composer for the panel's tab, a note when asking is closed, or nothing. */
export function composer (panel) {
  const editor = panel.getEditor()
  const asking = panel.tab === 'questions'
  if (panel.tab === 'mentions') return null
  if (!asking && !mayComment(panel.me.can, panel.isMentor())) return null
  if (asking && !panel.canAsk()) return h('p', { class: 'rt-note' }, 'Observers read questions; the facilitator can let observers ask.')
  const anonymousAllowed = mayAskAnonymously(panel.me.can)
  const box = h('textarea', {
    id: 'new-comment',
    rows: 3,
    maxlength: 10000,
    placeholder: asking ? 'Ask the cohort…' : (panel.draftAnchor ? 'Comment on the selected text…' : 'Comment on this document…')
  })
  const label = h('label', { for: 'new-comment', class: 'rt-label' }, asking ? 'Your question' : 'New comment')
  const anonymous = h('input', { type: 'checkbox', id: 'ask-anonymous' })
  const postFirst = h('input', { type: 'checkbox', id: 'ask-post-first' })
  postFirst.checked = panel.settings.post_first_questions
  return h('form', {
    class: 'rt-composer',
    onsubmit: async (event) => {
      event.preventDefault()
      const text = box.value.trim()
      if (!text) return
      const body = { body: text, mentions: panel.mentionsIn(text) }
      if (asking) {
        Object.assign(body, { kind: 'question', document: editor ? editor.name : null })
        if (anonymousAllowed) body.anonymous = anonymous.checked
        body.post_first = postFirst.checked
      } else {
        body.document = editor ? editor.name : null
        if (panel.draftAnchor) body.anchor = panel.draftAnchor
      }
      await panel.submit(body)
    }
  },
  label,
  panel.draftAnchor && !asking
    ? h('blockquote', { class: 'rt-quote' }, panel.draftAnchor.quote,
      h('button', { type: 'button', class: 'rt-link', onclick: () => { panel.draftAnchor = null; panel.render() } }, 'Not on a passage'))
    : null,
  box,
  asking && anonymousAllowed
    ? h('label', { class: 'rt-check' }, anonymous, ' Ask anonymously (the facilitator still sees your name)')
    : null,
  asking ? h('label', { class: 'rt-check' }, postFirst, ' Post first: others see answers after giving their own') : null,
  h('button', { type: 'submit', class: 'rt-primary' }, asking ? 'Ask' : 'Comment'))
}
