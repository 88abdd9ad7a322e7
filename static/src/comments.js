// The discussion panel: threads beside the text, questions, mentions; all live. The
// composer (composer.js) starts threads; each thread is a card (thread.js).

import { announce, h, replace } from './dom.js'
import { composer } from './composer.js'
import { mayAsk } from './logic/permissions.js'
import {
  besideTheText, emptyText, isUnread, lastCommentId, mentioning, mentionsIn, mergeThread,
  questionsInOrder, tabCount
} from './logic/threads.js'
import { threadCard } from './thread.js'

const SEEN = 'roundtable:seen:'
const TABS = [['comments', 'Comments'], ['questions', 'Questions'], ['mentions', 'Mentions']]

export class CommentsPanel {
  /** me: {id, can}; reactions: the vocabulary's [{key, emoji, label}]; getEditor(): the open DocumentEditor. */
  constructor ({ root, api, me, room, reactions, getEditor, onChange }) {
    this.root = root
    this.api = api
    this.me = me
    this.room = room
    this.reactions = reactions
    this.getEditor = getEditor
    this.onChange = onChange
    this.threads = new Map()
    this.settings = { observers_can_ask: false, post_first_questions: false }
    this.tab = 'comments'
    this.active = null
    this.editing = null
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
      const thread = mergeThread(this.threads.get(data.thread.id), data)
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
    } catch {
      // Gone, or not for this viewer any more: the card stays as it was.
    }
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

  /** Open the questions tab (the toolbar's Ask). */
  ask () {
    this.tab = 'questions'
    this.render()
  }

  canAsk () {
    return mayAsk(this.me.can, this.settings, this.isMentor())
  }

  /** Whether this person mentors the open document (and so may comment on it). */
  isMentor () {
    const editor = this.getEditor()
    return Boolean(editor && editor.mentorId === this.me.id)
  }

  mentionsIn (text) {
    return mentionsIn(text, this.participants, this.me.id)
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

  /** Run an API call; a thread it returns replaces the known one. */
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

  focusThread (thread) {
    this.active = thread.id
    const editor = this.getEditor()
    if (editor && thread.anchor && !editor.reveal(thread.anchor)) announce('The passage of this thread was deleted.')
    this.render()
  }

  // Reading

  visibleThreads () {
    const editor = this.getEditor()
    const all = [...this.threads.values()]
    if (this.tab === 'questions') return questionsInOrder(all)
    if (this.tab === 'mentions') return mentioning(all, this.me.id)
    // Beside the text: in the order of their passages; general ones after.
    const position = (t) => {
      const range = t.anchor && editor ? editor.resolveAnchor(t.anchor) : null
      return range ? range.from : Number.MAX_SAFE_INTEGER
    }
    return besideTheText(all, editor ? editor.name : null, position)
  }

  unread (thread) {
    return isUnread(this.seen, thread)
  }

  markSeen (thread) {
    this.seen[thread.id] = lastCommentId(thread)
    localStorage.setItem(SEEN + this.room, JSON.stringify(this.seen))
  }

  // Rendering

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
    const all = [...this.threads.values()]
    const counting = { seen: this.seen, me: this.me.id, name: editor && editor.name }
    const tabs = h('div', { class: 'rt-tabs', role: 'tablist', 'aria-label': 'Discussion' },
      ...TABS.map(([key, label]) => {
        const count = tabCount(key, all, counting)
        return h('button', {
          role: 'tab',
          'aria-selected': String(this.tab === key),
          class: 'rt-tab',
          onclick: () => { this.tab = key; this.render() }
        }, label, count ? h('span', { class: 'rt-badge', 'aria-label': `${count} new` }, String(count)) : null)
      }))
    const list = h('ol', { class: 'rt-threads', 'aria-label': 'Threads' },
      threads.map((t) => h('li', {}, threadCard(this, t))))
    replace(this.root, tabs, composer(this), threads.length ? list : h('p', { class: 'rt-empty' }, emptyText(this.tab)))
    if (editor) editor.setAnchors(this.tab === 'comments' ? threads : [], this.active)
    this.onChange()
  }
}
