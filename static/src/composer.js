// The discussion's composer: a new comment (on the selected passage, the open document
// or, before any document is open, the room) or, in the questions tab, a question
// (anonymous, post-first).

import { h } from './dom.js'
import { t } from './i18n.js'
import { mayAskAnonymously, mayComment } from './logic/permissions.js'

function placeholder (panel, asking, document) {
  if (asking) return t('discussion.askPlaceholder')
  if (panel.draftAnchor) return t('discussion.commentOnSelection')
  return document ? t('discussion.commentOnDocument') : t('discussion.commentOnRoom')
}

/** The composer for the panel's tab, a note when asking is closed, or nothing. */
export function composer (panel) {
  const editor = panel.getEditor()
  const asking = panel.tab === 'questions'
  if (panel.tab === 'mentions') return null
  if (!asking && !mayComment(panel.me.can, panel.isMentor())) return null
  if (asking && !panel.canAsk()) {
    return h('p', { class: 'rt-note' }, t(panel.me.seesRoom === false ? 'mentor.noQuestions' : 'discussion.observersRead'))
  }
  const anonymousAllowed = mayAskAnonymously(panel.me.can)
  const box = h('textarea', {
    id: 'new-comment',
    rows: 3,
    maxlength: 10000,
    placeholder: placeholder(panel, asking, editor && editor.name)
  })
  const label = h('label', { for: 'new-comment', class: 'rt-label' }, asking ? t('discussion.yourQuestion') : t('discussion.newComment'))
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
      h('button', { type: 'button', class: 'rt-link', onclick: () => { panel.draftAnchor = null; panel.render() } }, t('discussion.notOnPassage')))
    : null,
  box,
  asking && anonymousAllowed
    ? h('label', { class: 'rt-check' }, anonymous, ' ', t('discussion.askAnonymously'))
    : null,
  asking ? h('label', { class: 'rt-check' }, postFirst, ' ', t('discussion.postFirstOption')) : null,
  h('button', { type: 'submit', class: 'rt-primary' }, asking ? t('discussion.ask') : t('discussion.comment')))
}
