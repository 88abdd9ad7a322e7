// One thread card of the discussion: its passage, comments with reactions and
// actions, the reply form; editing one's own comment in place.

import { announce, h, time } from './dom.js'
import { commentActions, mayReact, mayReply, showsReactions, threadActions } from './logic/permissions.js'
import { authorLabel, missingBodyText } from './logic/threads.js'

/** The card of `thread` in `panel` (a CommentsPanel). */
export function threadCard (panel, thread) {
  const editor = panel.getEditor()
  const range = thread.anchor && editor && editor.name === thread.document ? editor.resolveAnchor(thread.anchor) : null
  const detached = thread.anchor && range && range.from === range.to
  const unread = panel.unread(thread)
  const [opening, ...replies] = thread.comments
  const focus = () => panel.focusThread(thread)
  const card = h('article', {
    class: 'rt-thread' + (thread.id === panel.active ? ' rt-thread-active' : '') + (thread.status === 'resolved' ? ' rt-resolved' : ''),
    'aria-label': (thread.kind === 'question' ? 'Question' : 'Comment') + ' thread',
    dataset: { thread: String(thread.id) }
  },
  h('header', { class: 'rt-thread-head' },
    unread ? h('span', { class: 'rt-unread', title: 'New' }, h('span', { class: 'rt-sr' }, 'New')) : null,
    thread.kind === 'question' ? h('span', { class: 'rt-pill rt-pill-' + thread.answer_state }, thread.answer_state) : null,
    thread.post_first ? h('span', { class: 'rt-pill' }, 'post first') : null,
    thread.locked ? h('span', { class: 'rt-pill' }, 'locked') : null,
    thread.status === 'resolved' ? h('span', { class: 'rt-pill' }, 'resolved') : null,
    thread.document && panel.tab !== 'comments' ? h('span', { class: 'rt-doc' }, thread.document) : null),
  thread.anchor
    ? h('blockquote', {
      class: 'rt-quote' + (detached ? ' rt-detached' : ''),
      tabindex: '0',
      onclick: focus,
      onkeydown: (e) => { if (e.key === 'Enter') focus() }
    }, detached ? h('span', { class: 'rt-pill' }, 'passage deleted') : null, thread.anchor.quote)
    : null,
  comment(panel, thread, opening),
  replies.length ? h('ol', { class: 'rt-replies' }, replies.map((c) => h('li', {}, comment(panel, thread, c)))) : null,
  thread.withheld_count ? h('p', { class: 'rt-note' }, `${thread.withheld_count} answer(s) hidden until you post yours.`) : null,
  replyForm(panel, thread),
  threadButtons(panel, thread))
  const seen = () => { if (unread) { panel.markSeen(thread); card.querySelector('.rt-unread')?.remove() } }
  card.addEventListener('focusin', seen)
  card.addEventListener('click', seen)
  return card
}

function comment (panel, thread, comment) {
  if (panel.editing === comment.id && comment.mine && comment.state === 'visible') return editForm(panel, comment)
  const body = comment.body !== null
    ? h('p', { class: 'rt-body' }, comment.body)
    : h('p', { class: 'rt-body rt-muted' }, missingBodyText(comment.state))
  return h('div', { class: 'rt-comment' + (comment.accepted ? ' rt-accepted' : ''), dataset: { comment: String(comment.id) } },
    h('div', { class: 'rt-meta' },
      h('strong', {}, authorLabel(thread, comment)), ' ', time(comment.created_at),
      comment.edited_at ? ' (edited)' : '',
      comment.accepted ? h('span', { class: 'rt-pill rt-pill-accepted' }, 'accepted answer') : null,
      comment.state === 'hidden' && comment.body !== null ? h('span', { class: 'rt-pill' }, 'hidden') : null),
    body,
    showsReactions(comment) ? reactions(panel, thread, comment) : null,
    commentButtons(panel, thread, comment))
}

function reactions (panel, thread, comment) {
  const canReact = mayReact(panel.me.can, thread)
  const path = (key) => `/comments/${comment.id}/reactions/${key}`
  return h('div', { class: 'rt-reactions', role: 'group', 'aria-label': 'Reactions' },
    panel.reactions.map(({ key, emoji, label }) => {
      const state = comment.reactions[key]
      if (!state && !canReact) return null
      return h('button', {
        class: 'rt-reaction' + (state && state.mine ? ' rt-mine' : ''),
        'aria-pressed': String(Boolean(state && state.mine)),
        'aria-label': `${label}${state ? ', ' + state.count : ''}`,
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
  const buttons = {
    edit: () => h('button', { class: 'rt-link', onclick: () => { panel.editing = comment.id; panel.render(); panel.root.querySelector('#edit-' + comment.id)?.focus() } }, 'Edit'),
    delete: () => h('button', { class: 'rt-link', onclick: () => { if (confirm('Delete your comment?')) panel.act(() => api.delete('/comments/' + comment.id)) } }, 'Delete'),
    accept: () => h('button', { class: 'rt-link', onclick: accept }, 'Accept answer'),
    unaccept: () => h('button', { class: 'rt-link', onclick: accept }, 'Unaccept'),
    hide: () => h('button', { class: 'rt-link', onclick: moderate('hide') }, 'Hide'),
    unhide: () => h('button', { class: 'rt-link', onclick: moderate('unhide') }, 'Unhide'),
    remove: () => h('button', { class: 'rt-link rt-danger', onclick: () => { if (confirm('Remove this comment for everyone?')) moderate('remove')() } }, 'Remove')
  }
  const actions = commentActions(panel.me.can, thread, comment).map((action) => buttons[action]())
  return actions.length ? h('div', { class: 'rt-actions' }, actions) : null
}

function threadButtons (panel, thread) {
  const patch = (changes) => () => panel.act(() => panel.api.patch('/threads/' + thread.id, changes))
  const buttons = {
    resolve: () => h('button', { class: 'rt-link', onclick: patch({ status: 'resolved' }) }, 'Resolve'),
    reopen: () => h('button', { class: 'rt-link', onclick: patch({ status: 'open' }) }, 'Reopen'),
    lock: () => h('button', { class: 'rt-link', onclick: patch({ locked: true }) }, 'Lock thread'),
    unlock: () => h('button', { class: 'rt-link', onclick: patch({ locked: false }) }, 'Unlock thread')
  }
  const actions = threadActions(panel.me.can, thread).map((action) => buttons[action]())
  return actions.length ? h('div', { class: 'rt-actions' }, actions) : null
}

function replyForm (panel, thread) {
  if (!mayReply(panel.me.can, thread, panel.isMentor())) return null
  const id = 'reply-' + thread.id
  const question = thread.kind === 'question'
  const box = h('textarea', { id, rows: 1, maxlength: 10000, placeholder: question ? 'Your answer…' : 'Reply…' })
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
  }, h('label', { for: id, class: 'rt-sr' }, question ? 'Answer' : 'Reply'), box,
  h('button', { type: 'submit' }, question ? 'Answer' : 'Reply'))
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
  }, h('label', { for: id, class: 'rt-sr' }, 'Edit your comment'), box,
  h('button', { type: 'submit' }, 'Save'),
  h('button', { type: 'button', onclick: stop }, 'Cancel'))
}
