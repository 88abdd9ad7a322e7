// One thread card of the discussion: its passage (marked when the passage left the
// text), comments with reactions and actions, the reply form; editing one's own
// comment in place.

import { confirmDialog } from './dialogs.js'
import { announce, h, time } from './dom.js'
import { t } from './i18n.js'
import { commentActions, mayReact, mayReply, showsReactions, threadActions } from './logic/permissions.js'
import { authorLabel, missingBodyText } from './logic/threads.js'

const ANSWER_STATES = {
  unanswered: 'discussion.unanswered',
  answered: 'discussion.answered',
  accepted: 'discussion.accepted'
}

/** The card of `thread` in `panel` (a CommentsPanel). */
export function threadCard (panel, thread) {
  const unread = panel.unread(thread)
  const [opening, ...replies] = thread.comments
  const card = h('article', {
    class: 'rt-thread' + (thread.id === panel.active ? ' rt-thread-active' : '') + (thread.status === 'resolved' ? ' rt-resolved' : ''),
    'aria-label': thread.kind === 'question' ? t('discussion.questionThread') : t('discussion.commentThread'),
    dataset: { thread: String(thread.id) }
  },
  h('header', { class: 'rt-thread-head' },
    unread ? h('span', { class: 'rt-unread', title: t('discussion.new') }, h('span', { class: 'rt-sr' }, t('discussion.new'))) : null,
    thread.kind === 'question' ? h('span', { class: 'rt-pill rt-pill-' + thread.answer_state }, t(ANSWER_STATES[thread.answer_state])) : null,
    thread.post_first ? h('span', { class: 'rt-pill' }, t('discussion.postFirst')) : null,
    thread.locked ? h('span', { class: 'rt-pill' }, t('discussion.locked')) : null,
    thread.status === 'resolved' ? h('span', { class: 'rt-pill' }, t('discussion.resolved')) : null,
    thread.document && panel.tab !== 'comments' ? h('span', { class: 'rt-doc' }, thread.document) : null),
  thread.anchor ? passage(panel, thread) : null,
  comment(panel, thread, opening),
  replies.length ? h('ol', { class: 'rt-replies' }, replies.map((c) => h('li', {}, comment(panel, thread, c)))) : null,
  thread.withheld_count ? h('p', { class: 'rt-note' }, t('discussion.withheldCount', { count: thread.withheld_count })) : null,
  replyForm(panel, thread),
  threadButtons(panel, thread))
  const seen = () => { if (unread) { panel.markSeen(thread); card.querySelector('.rt-unread')?.remove() } }
  card.addEventListener('focusin', seen)
  card.addEventListener('click', seen)
  return card
}

/**
 * The quoted passage: it shows the passage in the text when pressed. A passage that
 * is no longer in the text is marked so, its quote kept; pressing it says why.
 */
function passage (panel, thread) {
  const detached = panel.anchorOf(thread) === 'detached'
  const focus = () => panel.focusThread(thread)
  const note = detached ? 'rt-gone-' + thread.id : null
  return [
    h('blockquote', {
      class: 'rt-quote' + (detached ? ' rt-detached' : ''),
      tabindex: '0',
      'aria-describedby': note,
      onclick: focus,
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); focus() } }
    },
    detached ? h('span', { class: 'rt-pill rt-pill-gone', id: note }, t('discussion.passageGone')) : null,
    h('span', { class: 'rt-quote-text' }, thread.anchor.quote)),
    detached && panel.explained === thread.id
      ? h('p', { class: 'rt-note rt-gone-note', role: 'status' }, t('discussion.passageGoneExplained'))
      : null
  ]
}

function comment (panel, thread, comment) {
  if (panel.editing === comment.id && comment.mine && comment.state === 'visible') return editForm(panel, comment)
  const body = comment.body !== null
    ? h('p', { class: 'rt-body' }, comment.body)
    : h('p', { class: 'rt-body rt-muted' }, missingBodyText(comment.state))
  return h('div', { class: 'rt-comment' + (comment.accepted ? ' rt-accepted' : ''), dataset: { comment: String(comment.id) } },
    h('div', { class: 'rt-meta' },
      h('strong', {}, authorLabel(thread, comment)), ' ', time(comment.created_at),
      comment.edited_at ? ' ' + t('discussion.edited') : '',
      comment.accepted ? h('span', { class: 'rt-pill rt-pill-accepted' }, t('discussion.acceptedAnswer')) : null,
      comment.state === 'hidden' && comment.body !== null ? h('span', { class: 'rt-pill' }, t('discussion.hidden')) : null),
    body,
    showsReactions(comment) ? reactions(panel, thread, comment) : null,
    commentButtons(panel, thread, comment))
}

function reactions (panel, thread, comment) {
  const canReact = mayReact(panel.me.can, thread)
  const path = (key) => `/comments/${comment.id}/reactions/${key}`
  return h('div', { class: 'rt-reactions', role: 'group', 'aria-label': t('discussion.reactions') },
    panel.reactions.map(({ key, emoji, label }) => {
      const state = comment.reactions[key]
      if (!state && !canReact) return null
      return h('button', {
        class: 'rt-reaction' + (state && state.mine ? ' rt-mine' : ''),
        'aria-pressed': String(Boolean(state && state.mine)),
        'aria-label': state ? t('discussion.reactionCount', { label, count: state.count }) : label,
        disabled: !canReact,
        onclick: () => panel.act(() => state && state.mine ? panel.api.delete(path(key)) : panel.api.put(path(key)))
      }, h('span', { 'aria-hidden': 'true' }, emoji), ' ', label, state ? ' ' + state.count : '')
    }))
}

function commentButtons (panel, thread, comment) {
  const { api } = panel
  const act = (call) => () => panel.act(call)
  const moderate = (action) => act(() => api.post(`/comments/${comment.id}/moderation`, { action }))
  const accept = act(() => api.patch('/threads/' + thread.id, { accepted_comment_id: comment.accepted ? null : comment.id }))
  const confirmed = (question, run) => async () => { if (await confirmDialog(question)) run() }
  const button = (label, onclick, danger = false) => h('button', { type: 'button', class: danger ? 'rt-link rt-danger' : 'rt-link', onclick }, label)
  const buttons = {
    edit: () => button(t('discussion.edit'), () => { panel.editing = comment.id; panel.render(); panel.root.querySelector('#edit-' + comment.id)?.focus() }),
    delete: () => button(t('discussion.delete'), confirmed({
      title: t('discussion.deleteTitle'),
      message: t('discussion.deleteMessage'),
      confirmLabel: t('discussion.delete'),
      destructive: true
    }, () => panel.act(() => api.delete('/comments/' + comment.id)))),
    accept: () => button(t('discussion.accept'), accept),
    unaccept: () => button(t('discussion.unaccept'), accept),
    hide: () => button(t('discussion.hide'), moderate('hide')),
    unhide: () => button(t('discussion.unhide'), moderate('unhide')),
    remove: () => button(t('discussion.remove'), confirmed({
      title: t('discussion.removeTitle'),
      message: t('discussion.removeMessage'),
      confirmLabel: t('discussion.remove'),
      destructive: true
    }, moderate('remove')), true)
  }
  const actions = commentActions(panel.me.can, thread, comment).map((action) => buttons[action]())
  return actions.length ? h('div', { class: 'rt-actions' }, actions) : null
}

function threadButtons (panel, thread) {
  const patch = (changes) => () => panel.act(() => panel.api.patch('/threads/' + thread.id, changes))
  const button = (label, changes) => h('button', { type: 'button', class: 'rt-link', onclick: patch(changes) }, label)
  const buttons = {
    resolve: () => button(t('discussion.resolve'), { status: 'resolved' }),
    reopen: () => button(t('discussion.reopen'), { status: 'open' }),
    lock: () => button(t('discussion.lockThread'), { locked: true }),
    unlock: () => button(t('discussion.unlockThread'), { locked: false })
  }
  const actions = threadActions(panel.me.can, thread).map((action) => buttons[action]())
  return actions.length ? h('div', { class: 'rt-actions' }, actions) : null
}

function replyForm (panel, thread) {
  if (!mayReply(panel.me.can, thread, panel.isMentor())) return null
  const id = 'reply-' + thread.id
  const question = thread.kind === 'question'
  const box = h('textarea', {
    id,
    rows: 1,
    maxlength: 10000,
    placeholder: question ? t('discussion.answerPlaceholder') : t('discussion.replyPlaceholder')
  })
  return h('form', {
    class: 'rt-reply',
    onsubmit: async (event) => {
      event.preventDefault()
      const text = box.value.trim()
      if (!text) return
      try {
        const { thread: updated } = await panel.api.post(`/threads/${thread.id}/comments`, { body: text, mentions: panel.mentionsIn(text) })
        // A live re-render may have replaced this form meanwhile: clear it by id.
        const current = panel.root.querySelector('#' + CSS.escape(id))
        if (current) current.value = ''
        panel.threads.set(updated.id, updated)
        panel.markSeen(updated)
        panel.render()
      } catch (error) {
        announce(error.message)
      }
    }
  }, h('label', { for: id, class: 'rt-sr' }, question ? t('discussion.answer') : t('discussion.reply')), box,
  h('button', { type: 'submit' }, question ? t('discussion.answer') : t('discussion.reply')))
}

function editForm (panel, comment) {
  const id = 'edit-' + comment.id
  const box = h('textarea', { id, rows: 3, maxlength: 10000 })
  box.value = comment.body
  const stop = () => { panel.editing = null; panel.render() }
  return h('form', {
    class: 'rt-reply',
    onsubmit: async (event) => {
      event.preventDefault()
      panel.editing = null
      await panel.act(() => panel.api.patch('/comments/' + comment.id, { body: box.value, mentions: panel.mentionsIn(box.value) }))
      panel.render()
    }
  }, h('label', { for: id, class: 'rt-sr' }, t('discussion.editLabel')), box,
  h('button', { type: 'submit' }, t('discussion.save')),
  h('button', { type: 'button', onclick: stop }, t('common.cancel')))
}
