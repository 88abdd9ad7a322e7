// The comments panel: threads beside the text, questions, mentions; all live.

import { doc } from './api.js'
import { announce, h, replace, time } from './dom.js'

export const REACTIONS = [
  ['aha', '💡', 'Aha!'],
  ['thanks', '🙏', 'Thanks'],
  ['agree', '👍', 'Agree'],
  ['curious', '🤔', 'Curious'],
  ['celebrate', '🎉', 'Celebrate']
]

const SEEN = 'roundtable:seen:'

export class CommentsPanel {
  constructor ({ root, api, me, room, getEditor, onChange }) {
    this.root = root
    this.api = api
    this.me = me
    this.room = room
    this.getEditor = getEditor
    this.onChange = onChange
    this.threads = new Map()
    this.settings = { observers_can_ask: false, post_first_questions: false }
    this.tab = 'comments'
    this.active = null
    this.draftAnchor = null
    this.seen = JSON.parse(localStorage.getItem(SEEN + room) || '{}')
    this.participants = []
  }

  async load () {
    const [threads, people] = await Promise.all([
      this.api.get('/threads?limit=100'),
      this.loadParticipants()
    ])
    this.threads.clear()
    for (const thread of threads.threads) this.threads.set(thread.id, thread)
    this.participants = people
    this.render()
  }

  /** Everyone who can be @mentioned, read page by page (at most 10,000 people). */
  async loadParticipants () {
    const people = []
    let after = null
    for (let page = 0; page < 20; page++) {
      const query = '/participants?limit=500' + (after ? '&after=' + encodeURIComponent(after) : '')
      const { participants, next_after: next } = await this.api.get(query)
      people.push(...participants)
      if (!next) break
      after = next
    }
    return people
  }

  // Live events

  apply (event) {
    const data = event.data || {}
    if (event.type === 'settings.updated') {
      this.settings = data
    } else if (data.thread) {
      const known = this.threads.get(data.thread.id)
      const thread = { ...(known || {}), ...data.thread }
      if (!data.thread.comments) {
        thread.comments = [...((known && known.comments) || [])]
        if (data.comment) {
          const index = thread.comments.findIndex((c) => c.id === data.comment.id)
          if (index >= 0) thread.comments[index] = data.comment
          else thread.comments.push(data.comment)
        }
        // Which answer is accepted comes with the thread, not with each comment.
        thread.comments = thread.comments.map((c) => ({ ...c, accepted: c.id === thread.accepted_comment_id }))
      }
      this.threads.set(thread.id, thread)
      if (data.comment && !data.comment.mine && data.comment.body && event.type === 'comment.created') {
        announce(`New reply in a thread on ${thread.document || 'the room'}`)
      }
    } else if (data.thread_id) {
      this.refresh(data.thread_id)
      return
    }
    this.render()
  }

  async refresh (id) {
    try {
      const { thread } = await this.api.get('/threads/' + id)
      this.threads.set(thread.id, thread)
      this.render()
    } catch {}
  }

  // Starting threads

  commentOnSelection () {
    const editor = this.getEditor()
    const anchor = editor && editor.selectionAnchor()
    if (!anchor) {
      announce('Select some text first, then comment on it.')
      return
    }
    this.draftAnchor = anchor
    this.tab = 'comments'
    this.render()
    const box = this.root.querySelector('#new-comment')
    if (box) box.focus()
  }

  canAsk () {
    return this.me.role !== 'observer' || this.settings.observers_can_ask || this.isMentor()
  }

  isMentor () {
    const editor = this.getEditor()
    return Boolean(editor && editor.mentorId === this.me.id)
  }

  async submit (body) {
    try {
      const { thread } = await this.api.post('/threads', body)
      this.threads.set(thread.id, thread)
      this.draftAnchor = null
      this.active = thread.id
      const box = this.root.querySelector('#new-comment')
      if (box) box.value = ''
      this.render()
      announce('Posted.')
    } catch (error) {
      announce(error.message)
      throw error
    }
  }

  // Rendering

  visibleThreads () {
    const editor = this.getEditor()
    const all = [...this.threads.values()]
    if (this.tab === 'questions') {
      const rank = { unanswered: 0, answered: 1, accepted: 2 }
      return all.filter((t) => t.kind === 'question')
        .sort((a, b) => (rank[a.answer_state] - rank[b.answer_state]) ||
          b.last_activity_at.localeCompare(a.last_activity_at))
    }
    if (this.tab === 'mentions') return all.filter((t) => this.mentionsMe(t))
    const name = editor ? editor.name : null
    const here = all.filter((t) => t.document === name)
    // Beside the text: in the order of their passages; general ones after.
    const position = (t) => {
      const range = t.anchor && editor ? editor.resolveAnchor(t.anchor) : null
      return range ? range.from : Number.MAX_SAFE_INTEGER
    }
    return here.sort((a, b) => position(a) - position(b) || a.id - b.id)
  }

  mentionsMe (thread) {
    return thread.comments.some((c) => c.mentions.some((m) => m.id === this.me.id))
  }

  unread (thread) {
    const last = Math.max(...thread.comments.map((c) => c.id))
    return (this.seen[thread.id] || 0) < last
  }

  markSeen (thread) {
    this.seen[thread.id] = Math.max(...thread.comments.map((c) => c.id))
    localStorage.setItem(SEEN + this.room, JSON.stringify(this.seen))
  }

  /** Re-render at most once per frame (the editor calls this on every change). */
  scheduleRender () {
    if (this.renderPending) return
    this.renderPending = true
    requestAnimationFrame(() => {
      this.renderPending = false
      this.render()
    })
  }

  render () {
    // Unsent text, ticked boxes and focus survive a re-render.
    const drafts = {}
    for (const el of this.root.querySelectorAll('textarea[id], input[type="checkbox"][id]')) {
      drafts[el.id] = el.type === 'checkbox' ? el.checked : el.value
    }
    const focused = this.root.contains(document.activeElement) ? document.activeElement : null
    const focus = focused && focused.id
      ? { id: focused.id, start: focused.selectionStart, end: focused.selectionEnd }
      : null
    this.build()
    for (const [id, value] of Object.entries(drafts)) {
      const el = this.root.querySelector('#' + CSS.escape(id))
      if (!el) continue
      if (el.type === 'checkbox') el.checked = value
      else if (value) el.value = value
    }
    if (focus) {
      const el = this.root.querySelector('#' + CSS.escape(focus.id))
      if (el) {
        el.focus()
        if (typeof focus.start === 'number' && el.setSelectionRange) el.setSelectionRange(focus.start, focus.end)
      }
    }
  }

  build () {
    const editor = this.getEditor()
    const threads = this.visibleThreads()
    const tabs = h('div', { class: 'rt-tabs', role: 'tablist', 'aria-label': 'Discussion' },
      ...[['comments', 'Comments'], ['questions', 'Questions'], ['mentions', 'Mentions']].map(([key, label]) => {
        const all = [...this.threads.values()]
        const count = key === 'questions'
          ? all.filter((t) => t.kind === 'question' && t.answer_state === 'unanswered').length
          : key === 'mentions'
            ? all.filter((t) => this.unread(t) && this.mentionsMe(t)).length
            : all.filter((t) => this.unread(t) && t.document === (editor && editor.name)).length
        return h('button', {
          role: 'tab',
          'aria-selected': String(this.tab === key),
          class: 'rt-tab',
          onclick: () => { this.tab = key; this.render() }
        }, label, count ? h('span', { class: 'rt-badge', 'aria-label': `${count} new` }, String(count)) : null)
      }))
    const list = h('ol', { class: 'rt-threads', 'aria-label': 'Threads' },
      threads.map((t) => h('li', {}, this.threadCard(t))))
    replace(this.root, tabs, this.composer(), threads.length ? list : h('p', { class: 'rt-empty' }, this.emptyText()))
    if (editor) editor.setAnchors(this.tab === 'comments' ? threads : [], this.active)
    this.onChange()
  }

  emptyText () {
    if (this.tab === 'questions') return 'No questions yet. Ask one: no question is too small.'
    if (this.tab === 'mentions') return 'Nobody has mentioned you yet.'
    return 'No comments on this document yet. Select text and press “Comment”.'
  }

  composer () {
    const editor = this.getEditor()
    const asking = this.tab === 'questions'
    if (this.tab === 'mentions') return null
    if (!asking && this.me.role === 'observer' && !this.isMentor()) return null
    if (asking && !this.canAsk()) return h('p', { class: 'rt-note' }, 'Observers read questions; the facilitator can let observers ask.')
    const box = h('textarea', {
      id: 'new-comment',
      rows: 3,
      maxlength: 10000,
      placeholder: asking ? 'Ask the cohort…' : (this.draftAnchor ? 'Comment on the selected text…' : 'Comment on this document…')
    })
    const label = h('label', { for: 'new-comment', class: 'rt-label' }, asking ? 'Your question' : 'New comment')
    const anonymous = h('input', { type: 'checkbox', id: 'ask-anonymous' })
    const postFirst = h('input', { type: 'checkbox', id: 'ask-post-first' })
    postFirst.checked = this.settings.post_first_questions
    const form = h('form', {
      class: 'rt-composer',
      onsubmit: async (event) => {
        event.preventDefault()
        const text = box.value.trim()
        if (!text) return
        const body = { body: text, mentions: this.mentionsIn(text) }
        if (asking) {
          Object.assign(body, { kind: 'question', document: editor ? editor.name : null })
          if (this.me.role !== 'facilitator') body.anonymous = anonymous.checked
          body.post_first = postFirst.checked
        } else {
          body.document = editor ? editor.name : null
          if (this.draftAnchor) body.anchor = this.draftAnchor
        }
        await this.submit(body)
      }
    },
    label,
    this.draftAnchor && !asking
      ? h('blockquote', { class: 'rt-quote' }, this.draftAnchor.quote,
        h('button', { type: 'button', class: 'rt-link', onclick: () => { this.draftAnchor = null; this.render() } }, 'Not on a passage'))
      : null,
    box,
    asking && this.me.role !== 'facilitator'
      ? h('label', { class: 'rt-check' }, anonymous, ' Ask anonymously (the facilitator still sees your name)')
      : null,
    asking ? h('label', { class: 'rt-check' }, postFirst, ' Post first: others see answers after giving their own') : null,
    h('button', { type: 'submit', class: 'rt-primary' }, asking ? 'Ask' : 'Comment'))
    return form
  }

  mentionsIn (text) {
    return this.participants.filter((p) => p.id !== this.me.id && text.includes('@' + p.name)).map((p) => p.id)
  }

  threadCard (thread) {
    const editor = this.getEditor()
    const range = thread.anchor && editor && editor.name === thread.document ? editor.resolveAnchor(thread.anchor) : null
    const detached = thread.anchor && range && range.from === range.to
    const unread = this.unread(thread)
    const [opening, ...replies] = thread.comments
    const card = h('article', {
      class: 'rt-thread' + (thread.id === this.active ? ' rt-thread-active' : '') + (thread.status === 'resolved' ? ' rt-resolved' : ''),
      'aria-label': (thread.kind === 'question' ? 'Question' : 'Comment') + ' thread',
      dataset: { thread: String(thread.id) }
    },
    h('header', { class: 'rt-thread-head' },
      unread ? h('span', { class: 'rt-unread', title: 'New' }, h('span', { class: 'rt-sr' }, 'New')) : null,
      thread.kind === 'question' ? h('span', { class: 'rt-pill rt-pill-' + thread.answer_state }, thread.answer_state) : null,
      thread.post_first ? h('span', { class: 'rt-pill' }, 'post first') : null,
      thread.locked ? h('span', { class: 'rt-pill' }, 'locked') : null,
      thread.status === 'resolved' ? h('span', { class: 'rt-pill' }, 'resolved') : null,
      thread.document && this.tab !== 'comments' ? h('span', { class: 'rt-doc' }, thread.document) : null),
    thread.anchor
      ? h('blockquote', {
        class: 'rt-quote' + (detached ? ' rt-detached' : ''),
        tabindex: '0',
        onclick: () => this.focusThread(thread),
        onkeydown: (e) => { if (e.key === 'Enter') this.focusThread(thread) }
      }, detached ? h('span', { class: 'rt-pill' }, 'passage deleted') : null, thread.anchor.quote)
      : null,
    this.comment(thread, opening),
    replies.length ? h('ol', { class: 'rt-replies' }, replies.map((c) => h('li', {}, this.comment(thread, c)))) : null,
    thread.withheld_count ? h('p', { class: 'rt-note' }, `${thread.withheld_count} answer(s) hidden until you post yours.`) : null,
    this.replyForm(thread),
    this.threadActions(thread))
    card.addEventListener('focusin', () => { if (unread) { this.markSeen(thread); card.querySelector('.rt-unread')?.remove() } })
    card.addEventListener('click', () => { if (unread) { this.markSeen(thread); card.querySelector('.rt-unread')?.remove() } })
    return card
  }

  focusThread (thread) {
    this.active = thread.id
    const editor = this.getEditor()
    if (editor && thread.anchor && !editor.reveal(thread.anchor)) announce('The passage of this thread was deleted.')
    this.render()
  }

  who (thread, comment) {
    if (comment.state === 'withheld') return 'Hidden answer'
    if (!comment.author) return comment.by_asker ? 'Anonymous (asker)' : 'Anonymous'
    return comment.author.name + (comment.by_asker && thread.anonymous ? ' (asked anonymously)' : '')
  }

  comment (thread, comment) {
    if (this.editing === comment.id && comment.mine && comment.state === 'visible') return this.editForm(comment)
    const body = comment.body !== null
      ? h('p', { class: 'rt-body' }, comment.body)
      : h('p', { class: 'rt-body rt-muted' }, {
        deleted: 'Comment removed by its author.',
        removed: 'Comment removed by a facilitator.',
        hidden: 'Hidden by a facilitator.',
        withheld: 'Post your own answer to see this one.'
      }[comment.state] || '')
    return h('div', { class: 'rt-comment' + (comment.accepted ? ' rt-accepted' : ''), dataset: { comment: String(comment.id) } },
      h('div', { class: 'rt-meta' },
        h('strong', {}, this.who(thread, comment)), ' ', time(comment.created_at),
        comment.edited_at ? ' (edited)' : '',
        comment.accepted ? h('span', { class: 'rt-pill rt-pill-accepted' }, 'accepted answer') : null,
        comment.state === 'hidden' && comment.body !== null ? h('span', { class: 'rt-pill' }, 'hidden') : null),
      body,
      comment.state === 'visible' || comment.state === 'hidden' ? this.reactions(thread, comment) : null,
      this.commentActions(thread, comment))
  }

  reactions (thread, comment) {
    const canReact = this.me.role !== 'observer' && (!thread.locked || this.me.role === 'facilitator')
    return h('div', { class: 'rt-reactions', role: 'group', 'aria-label': 'Reactions' },
      REACTIONS.map(([key, emoji, label]) => {
        const state = comment.reactions[key]
        if (!state && !canReact) return null
        return h('button', {
          class: 'rt-reaction' + (state && state.mine ? ' rt-mine' : ''),
          'aria-pressed': String(Boolean(state && state.mine)),
          'aria-label': `${label}${state ? ', ' + state.count : ''}`,
          disabled: !canReact,
          onclick: () => this.act(() => state && state.mine
            ? this.api.delete(`/comments/${comment.id}/reactions/${key}`)
            : this.api.put(`/comments/${comment.id}/reactions/${key}`))
        }, h('span', { 'aria-hidden': 'true' }, emoji), ' ', label, state ? ' ' + state.count : '')
      }))
  }

  commentActions (thread, comment) {
    const actions = []
    const facilitator = this.me.role === 'facilitator'
    if (comment.mine && comment.state === 'visible' && (!thread.locked || facilitator)) {
      actions.push(h('button', { class: 'rt-link', onclick: () => { this.editing = comment.id; this.render(); this.root.querySelector('#edit-' + comment.id)?.focus() } }, 'Edit'))
    }
    if (comment.mine && comment.state !== 'deleted' && comment.state !== 'removed') {
      actions.push(h('button', { class: 'rt-link', onclick: () => { if (confirm('Delete your comment?')) this.act(() => this.api.delete('/comments/' + comment.id)) } }, 'Delete'))
    }
    if (thread.kind === 'question' && comment.id !== thread.comments[0].id && (thread.mine || facilitator) &&
        (comment.state === 'visible' || comment.state === 'hidden')) {
      actions.push(h('button', {
        class: 'rt-link',
        onclick: () => this.act(() => this.api.patch('/threads/' + thread.id, { accepted_comment_id: comment.accepted ? null : comment.id }))
      }, comment.accepted ? 'Unaccept' : 'Accept answer'))
    }
    if (facilitator && comment.state === 'visible') {
      actions.push(h('button', { class: 'rt-link', onclick: () => this.act(() => this.api.post(`/comments/${comment.id}/moderation`, { action: 'hide' })) }, 'Hide'))
    }
    if (facilitator && comment.state === 'hidden') {
      actions.push(h('button', { class: 'rt-link', onclick: () => this.act(() => this.api.post(`/comments/${comment.id}/moderation`, { action: 'unhide' })) }, 'Unhide'))
    }
    if (facilitator && (comment.state === 'visible' || comment.state === 'hidden')) {
      actions.push(h('button', { class: 'rt-link rt-danger', onclick: () => { if (confirm('Remove this comment for everyone?')) this.act(() => this.api.post(`/comments/${comment.id}/moderation`, { action: 'remove' })) } }, 'Remove'))
    }
    return actions.length ? h('div', { class: 'rt-actions' }, actions) : null
  }

  threadActions (thread) {
    const facilitator = this.me.role === 'facilitator'
    const actions = []
    if (thread.mine || facilitator) {
      const resolved = thread.status === 'resolved'
      actions.push(h('button', { class: 'rt-link', onclick: () => this.act(() => this.api.patch('/threads/' + thread.id, { status: resolved ? 'open' : 'resolved' })) }, resolved ? 'Reopen' : 'Resolve'))
    }
    if (facilitator) {
      actions.push(h('button', { class: 'rt-link', onclick: () => this.act(() => this.api.patch('/threads/' + thread.id, { locked: !thread.locked })) }, thread.locked ? 'Unlock thread' : 'Lock thread'))
    }
    return actions.length ? h('div', { class: 'rt-actions' }, actions) : null
  }

  replyForm (thread) {
    const facilitator = this.me.role === 'facilitator'
    const allowed = (this.me.role !== 'observer' || thread.mine || this.isMentor()) && (!thread.locked || facilitator)
    if (!allowed) return null
    const id = 'reply-' + thread.id
    const box = h('textarea', { id, rows: 1, maxlength: 10000, placeholder: thread.kind === 'question' ? 'Your answer…' : 'Reply…' })
    return h('form', {
      class: 'rt-reply',
      onsubmit: async (event) => {
        event.preventDefault()
        const text = box.value.trim()
        if (!text) return
        try {
          const { thread: updated } = await this.api.post(`/threads/${thread.id}/comments`, { body: text, mentions: this.mentionsIn(text) })
          // A live re-render may have replaced this form meanwhile: clear it by id.
          const current = this.root.querySelector('#' + CSS.escape(id))
          if (current) current.value = ''
          this.threads.set(updated.id, updated)
          this.markSeen(updated)
          this.render()
        } catch (error) {
          announce(error.message)
        }
      }
    }, h('label', { for: id, class: 'rt-sr' }, thread.kind === 'question' ? 'Answer' : 'Reply'), box,
    h('button', { type: 'submit' }, thread.kind === 'question' ? 'Answer' : 'Reply'))
  }

  editForm (comment) {
    const id = 'edit-' + comment.id
    const box = h('textarea', { id, rows: 3, maxlength: 10000 })
    box.value = comment.body
    return h('form', {
      class: 'rt-reply',
      onsubmit: async (event) => {
        event.preventDefault()
        this.editing = null
        await this.act(() => this.api.patch('/comments/' + comment.id, { body: box.value, mentions: this.mentionsIn(box.value) }))
        this.render()
      }
    }, h('label', { for: id, class: 'rt-sr' }, 'Edit your comment'), box,
    h('button', { type: 'submit' }, 'Save'),
    h('button', { type: 'button', onclick: () => { this.editing = null; this.render() } }, 'Cancel'))
  }

  async act (call) {
    try {
      const result = await call()
      if (result && result.thread) {
        this.threads.set(result.thread.id, result.thread)
        this.render()
      }
    } catch (error) {
      announce(error.message)
    }
  }
}

