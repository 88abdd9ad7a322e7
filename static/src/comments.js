// The discussion panel: threads beside the text, questions, mentions; all live. The
// composer (composer.js) starts threads; each thread is a card (thread.js). An empty
// tab says how to start; a thread whose passage left the text says so on its card.

import { announce, h, replace } from './dom.js'
import { composer } from './composer.js'
import { formatNumber, t } from './i18n.js'
import { mayAsk, mayComment } from './logic/permissions.js'
import {
  anchorState, besideTheText, emptyState, isUnread, lastCommentId, mentioning, mentionsIn,
  mergeThread, questionsInOrder, tabCount, tabCountLabel
} from './logic/threads.js'
import { threadCard } from './thread.js'

const SEEN = 'roundtable:seen:'
const TABS = [['comments', 'discussion.tabComments'], ['questions', 'discussion.tabQuestions'], ['mentions', 'discussion.tabMentions']]

export class CommentsPanel {
  /**
   * me: {id, can}; reactions: the vocabulary's [{key, emoji, label}]; getEditor(): the
   * open DocumentEditor; openDocument(name): open another document (to show a passage).
   */
  constructor ({ root, api, me, room, reactions, getEditor, openDocument, onChange }) {
    this.root = root
    this.api = api
    this.me = me
    this.room = room
    this.reactions = reactions
    this.getEditor = getEditor
    this.openDocument = openDocument
    this.onChange = onChange
    this.threads = new Map()
    this.settings = { observers_can_ask: false, post_first_questions: false }
    this.tab = 'comments'
    this.active = null
    this.editing = null
    this.draftAnchor = null
    // The thread whose passage shows once its document has loaded.
    this.pending = null
    // The thread whose card explains that its passage left the text.
    this.explained = null
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
        announce(thread.document ? t('discussion.newReply', { document: thread.document }) : t('discussion.newReplyRoom'))
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
      announce(t('discussion.selectFirst'))
      return
    }
    this.draftAnchor = anchor
    this.tab = 'comments'
    this.render()
    const box = this.root.querySelector('#new-comment')
    if (box) box.focus()
  }

  /** Open the questions tab (the toolbar's Ask), ready to write. */
  ask () {
    this.tab = 'questions'
    this.render()
    const box = this.root.querySelector('#new-comment')
    if (box) box.focus()
  }

  /** Whether this person may ask now: not a mentor from outside the cohort, whose questions would go to a room they do not see. */
  canAsk () {
    return this.me.seesRoom !== false && mayAsk(this.me.can, this.settings, this.isMentor())
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
      // One's own new thread is no news to oneself.
      this.markSeen(thread)
      this.draftAnchor = null
      this.active = thread.id
      const box = this.root.querySelector('#new-comment')
      if (box) box.value = ''
      this.render()
      announce(t('discussion.posted'))
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

  /** The open document as anchorState (logic/threads.js) needs it, or null. */
  openDocumentState () {
    const editor = this.getEditor()
    if (!editor) return null
    return { name: editor.name, synced: editor.loaded, resolve: (anchor) => editor.resolveAnchor(anchor) }
  }

  /** Where a thread's passage stands: 'none', 'elsewhere', 'attached' or 'detached'. */
  anchorOf (thread) {
    return anchorState(thread, this.openDocumentState())
  }

  /**
   * Show a thread's passage in the text: its document opens first if another is open;
   * a passage no longer in the text is explained on the card and read out.
   */
  focusThread (thread) {
    this.active = thread.id
    this.explained = null
    this.pending = null
    const editor = this.getEditor()
    if (thread.anchor && thread.document && (!editor || editor.name !== thread.document)) {
      this.pending = thread.id
      this.openDocument(thread.document)
    } else {
      this.showPassage(thread)
    }
    this.render()
  }

  showPassage (thread) {
    const state = this.anchorOf(thread)
    if (state === 'attached') {
      this.getEditor().reveal(thread.anchor)
    } else if (state === 'detached') {
      this.explained = thread.id
      announce(t('discussion.passageGoneExplained'))
    } else if (state === 'elsewhere') {
      this.pending = thread.id
    }
  }

  /** A passage asked for while its document was loading shows once it has loaded. */
  showPending () {
    const thread = this.pending !== null && this.threads.get(this.pending)
    if (!thread) return
    const editor = this.getEditor()
    // Another document was opened meanwhile: the passage is no longer wanted.
    if (!editor || editor.name !== thread.document) { this.pending = null; return }
    if (this.anchorOf(thread) === 'elsewhere') return
    this.pending = null
    this.showPassage(thread)
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
    this.refreshCounts()
  }

  /** The tabs' numbers after something was read, leaving the rest (and focus) as it is. */
  refreshCounts () {
    for (const tab of this.root.querySelectorAll('.rt-tab[data-tab]')) {
      tab.querySelector('.rt-badge')?.remove()
      const badge = this.badge(tab.dataset.tab)
      if (badge) tab.append(badge)
    }
  }

  /** The number on a tab, or null when there is nothing to count. */
  badge (key) {
    const editor = this.getEditor()
    const counting = { seen: this.seen, me: this.me.id, name: editor && editor.name }
    const count = tabCount(key, [...this.threads.values()], counting)
    return count ? h('span', { class: 'rt-badge', 'aria-label': tabCountLabel(key, count) }, formatCount(count)) : null
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
    this.showPending()
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
    const tabs = h('div', { class: 'rt-tabs', role: 'tablist', 'aria-label': t('discussion.tablist') },
      ...TABS.map(([key, label]) => h('button', {
        role: 'tab',
        'aria-selected': String(this.tab === key),
        class: 'rt-tab',
        dataset: { tab: key },
        onclick: () => { this.tab = key; this.render() }
      }, t(label), this.badge(key))))
    const list = h('ol', { class: 'rt-threads', 'aria-label': t('discussion.threads') },
      threads.map((thread) => h('li', {}, threadCard(this, thread))))
    replace(this.root, tabs, composer(this), threads.length ? list : this.emptyView())
    if (editor) editor.setAnchors(this.tab === 'comments' ? threads : [], this.active)
    this.onChange()
  }

  /** An empty tab: what is missing and how to start. */
  emptyView () {
    const editor = this.getEditor()
    const may = { comment: mayComment(this.me.can, this.isMentor()), ask: this.canAsk() }
    const state = emptyState(this.tab, may, editor ? editor.name : null)
    return h('div', { class: 'rt-empty-threads' },
      h('p', { class: 'rt-empty-title' }, state.title),
      h('p', { class: 'rt-empty-hint' }, state.hint),
      state.ask ? h('button', { type: 'button', class: 'rt-link', onclick: () => this.ask() }, t('discussion.askQuestion')) : null)
  }
}

function formatCount (count) {
  return count > 99 ? formatNumber(99) + '+' : formatNumber(count)
}
