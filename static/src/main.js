// Roundtable in the browser: the join page and the room page.

import { ApiError, RoomApi, doc, join } from './api.js'
import { CommentsPanel } from './comments.js'
import { announce, byId, h, replace } from './dom.js'
import { DocumentEditor } from './editor.js'
import { RoomFeed } from './feed.js'
import { RosterPanel } from './people.js'
import { removeDialog } from './removal.js'
import { forgetSession, loadSession, saveSession } from './session.js'

const app = byId('app')
const IDLE_AFTER_MS = 60000

function page (...children) {
  replace(app, ...children)
}

// Join: /join/{code}

const JOIN_ERRORS = {
  unknown_invite: 'This invite link is unknown or was replaced. Ask your facilitator for a new one.',
  room_full: 'This room is full. Ask your facilitator to make room for you.',
  too_many_joins: 'Too many people are joining right now. Try again in a minute.'
}

function joinPage (code) {
  const name = h('input', { id: 'name', name: 'name', autocomplete: 'nickname', maxlength: 64, required: true })
  const status = h('p', { class: 'rt-error', role: 'alert' })
  const form = h('form', {
    class: 'rt-card rt-join',
    onsubmit: async (event) => {
      event.preventDefault()
      status.textContent = ''
      try {
        const joined = await join(code, name.value)
        saveSession(joined)
        location.assign('/room/' + encodeURIComponent(joined.room))
      } catch (error) {
        status.textContent = error instanceof ApiError && JOIN_ERRORS[error.code]
          ? JOIN_ERRORS[error.code]
          : error.message
      }
    }
  },
  h('h1', {}, 'Join the session'),
  h('p', {}, 'Pick the name the others will see. You can ask questions anonymously later.'),
  h('label', { for: 'name' }, 'Your display name'), name,
  h('button', { type: 'submit', class: 'rt-primary' }, 'Join'),
  status)
  page(h('main', { class: 'rt-center' }, form))
  name.focus()
}

// Room: /room/{slug}

class RoomPage {
  constructor (slug, session) {
    this.slug = slug
    this.session = session
    this.api = new RoomApi(slug, session.token)
    this.editor = null
    this.documents = []
    this.roster = []
    this.following = null
    this.spotlightFollow = false
    this.timer = null
  }

  async start () {
    let state
    try {
      state = await this.api.get('')
    } catch (error) {
      if (error.status === 401 || error.status === 403) return this.refused(error.message)
      throw error
    }
    const me = { ...state.you, colour: null }
    this.me = me
    this.state = state
    this.documents = state.documents
    this.build(state)
    this.comments = new CommentsPanel({
      root: this.discussion,
      api: this.api,
      me,
      room: this.slug,
      getEditor: () => this.editor,
      onChange: () => {}
    })
    this.comments.settings = state.settings
    this.people = new RosterPanel({
      root: this.rosterRoot,
      me,
      onFollow: (id) => this.follow(id),
      onRemove: (row) => removeDialog({ api: this.api, row })
    })
    this.people.spotlight = state.spotlight && state.spotlight.id
    this.roster = state.roster
    this.people.update(state.roster)
    this.renderDocuments()
    this.setTimer(state.timer)
    this.setSpotlight(state.spotlight)
    this.feed = new RoomFeed(this.slug, this.session.token, {
      onEvent: (event) => this.onEvent(event),
      onRoster: (rows) => this.onRoster(rows),
      onStatus: (status) => this.setStatus('room', status),
      onResync: () => this.reload(),
      onRefused: (code, reason) => this.refused(reason)
    })
    this.feed.start(state.seq)
    this.trackActivity()
    const first = new URLSearchParams(location.search).get('doc') || (this.documents[0] && this.documents[0].name)
    if (first) this.open(first)
    await this.comments.load()
  }

  async reload () {
    const state = await this.api.get('')
    this.documents = state.documents
    this.renderDocuments()
    this.comments.settings = state.settings
    await this.comments.load()
  }

  refused (message) {
    forgetSession(this.slug)
    if (this.feed) this.feed.stop()
    if (this.editor) this.editor.destroy()
    page(h('main', { class: 'rt-center' }, h('div', { class: 'rt-card' },
      h('h1', {}, 'You are not in this room'),
      h('p', {}, message || 'Your access ended.'),
      h('p', {}, 'Open your invite link again, or ask the facilitator for a new one.'))))
  }

  build (state) {
    const facilitator = state.you.role === 'facilitator'
    this.statusPill = h('span', { class: 'rt-status', role: 'status', 'aria-live': 'polite' }, 'connecting')
    this.timerEl = h('span', { class: 'rt-timer', role: 'timer', 'aria-live': 'off', hidden: true })
    this.banner = h('p', { class: 'rt-banner', role: 'status', hidden: true })
    this.docList = h('ul', { class: 'rt-docs', 'aria-label': 'Documents' })
    this.rosterRoot = h('section', { class: 'rt-roster', 'aria-label': 'People' })
    this.discussion = h('section', { class: 'rt-discussion', 'aria-label': 'Comments and questions' })
    this.editorRoot = h('div', { class: 'rt-editor', id: 'editor' })
    this.lockBanner = h('p', { class: 'rt-lock', role: 'status', hidden: true })
    this.toolbar = h('div', { class: 'rt-toolbar', role: 'toolbar', 'aria-label': 'Formatting' })
    this.side = h('nav', { class: 'rt-side', id: 'side', 'aria-label': 'Documents and people' },
      h('h2', { class: 'rt-panel-title' }, 'Documents'), this.docList, this.newDocumentForm(),
      this.rosterRoot, facilitator ? this.sessionControls(state) : this.memberOptions())
    this.aside = h('aside', { class: 'rt-aside', id: 'aside', 'aria-label': 'Discussion' }, this.discussion)
    const sheetButton = (label, target) => h('button', {
      class: 'rt-sheet-button',
      'aria-controls': target.id,
      'aria-expanded': 'false',
      onclick: (event) => this.toggleSheet(target, event.currentTarget)
    }, label)
    page(
      h('header', { class: 'rt-header' },
        h('h1', { class: 'rt-title' }, state.title),
        h('span', { class: 'rt-you' }, `${state.you.name} · ${state.you.role}`),
        this.timerEl, this.statusPill),
      this.banner,
      h('div', { class: 'rt-layout' },
        this.side,
        h('main', { class: 'rt-main', id: 'main' }, this.lockBanner, this.toolbar, this.editorRoot),
        this.aside),
      h('nav', { class: 'rt-bottom', 'aria-label': 'Panels' },
        sheetButton('Documents', this.side), sheetButton('Discussion', this.aside)))
  }

  toggleSheet (target, button) {
    const open = !target.classList.contains('rt-open')
    for (const other of [this.side, this.aside]) other.classList.remove('rt-open')
    for (const b of document.querySelectorAll('.rt-sheet-button')) b.setAttribute('aria-expanded', 'false')
    if (open) {
      target.classList.add('rt-open')
      button.setAttribute('aria-expanded', 'true')
      const focusable = target.querySelector('button, textarea, input, [tabindex]')
      if (focusable) focusable.focus()
    }
  }

  // Documents

  renderDocuments () {
    replace(this.docList, this.documents.map((d) => h('li', {},
      h('button', {
        class: 'rt-doc-button',
        'aria-current': this.editor && this.editor.name === d.name ? 'page' : null,
        onclick: () => this.open(d.name)
      }, d.name, d.locked ? h('span', { class: 'rt-pill' }, 'locked') : null))))
    if (!this.documents.length) this.docList.append(h('li', { class: 'rt-empty' }, 'No documents yet.'))
  }

  newDocumentForm () {
    if (this.state.you.role === 'observer') return null
    const name = h('input', { id: 'new-doc-name', maxlength: 100, required: true, placeholder: 'e.g. Style guide' })
    const template = h('select', { id: 'new-doc-template' },
      h('option', { value: '' }, 'Empty'),
      h('option', { value: 'best-practices' }, 'Best-practices guide'),
      h('option', { value: 'style-guide' }, 'Style guide'),
      h('option', { value: 'action-plan' }, 'Action plan'))
    return h('form', {
      class: 'rt-new-doc',
      onsubmit: async (event) => {
        event.preventDefault()
        try {
          const body = { name: name.value.trim() }
          if (template.value) body.template = template.value
          const { document: created } = await this.api.post('/documents', body)
          name.value = ''
          if (!this.documents.some((d) => d.name === created.name)) this.documents.push(created)
          this.renderDocuments()
          this.open(created.name)
        } catch (error) {
          announce(error.message)
        }
      }
    }, h('label', { for: 'new-doc-name' }, 'New document'), name,
    h('label', { for: 'new-doc-template' }, 'Template'), template,
    h('button', { type: 'submit' }, 'Create'))
  }

  open (name) {
    if (this.editor && this.editor.name === name) return
    if (this.editor) this.editor.destroy()
    const info = this.documents.find((d) => d.name === name) || { name, locked: false }
    const me = { id: this.me.id, name: this.me.name, colour: this.myColour() }
    replace(this.editorRoot)
    this.editor = new DocumentEditor({
      element: this.editorRoot,
      room: this.slug,
      name,
      token: this.session.token,
      me,
      editable: this.me.role !== 'observer',
      onStatus: (status) => this.setStatus('doc', status),
      onChange: () => { if (this.comments) this.comments.scheduleRender() }
    })
    this.editor.editor.on('transaction', () => this.updateToolbarState())
    this.editor.mentorId = info.mentor_id
    this.editor.setLocked(info.locked && this.me.role !== 'facilitator')
    this.editor.onAwareness(() => { if (this.following) this.editor.showCaretOf(this.following) })
    this.showLock(info.locked)
    this.renderToolbar()
    this.renderDocuments()
    if (this.feed) this.feed.setPresence({ document: name })
    history.replaceState(null, '', '/room/' + encodeURIComponent(this.slug) + '?doc=' + encodeURIComponent(name))
    if (this.comments) this.comments.render()
  }

  myColour () {
    const row = this.roster.find((r) => r.id === this.me.id)
    return row ? row.colour : '#7f7f7f'
  }

  showLock (locked) {
    this.lockBanner.hidden = !locked
    this.lockBanner.textContent = locked
      ? (this.me.role === 'facilitator' ? 'Locked: only facilitators can edit.' : 'A facilitator locked this document: it is read-only for now.')
      : ''
  }

  renderToolbar () {
    const e = () => this.editor.editor
    const can = this.editor.editable
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
    const facilitator = this.me.role === 'facilitator'
    const current = this.documents.find((d) => d.name === this.editor.name) || {}
    replace(this.toolbar,
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
      this.me.role !== 'observer' || this.editor.mentorId === this.me.id
        ? h('button', { type: 'button', class: 'rt-tool rt-primary', onclick: () => { this.comments.commentOnSelection(); this.openDiscussion() } }, 'Comment')
        : null,
      h('button', { type: 'button', class: 'rt-tool', onclick: () => { this.comments.tab = 'questions'; this.comments.render(); this.openDiscussion() } }, 'Ask'),
      h('button', { type: 'button', class: 'rt-tool', onclick: () => this.exportDocument('markdown') }, 'Export'),
      facilitator ? h('button', { type: 'button', class: 'rt-tool', 'aria-pressed': String(Boolean(current.locked)), onclick: () => this.toggleLock(current) }, current.locked ? 'Unlock' : 'Lock') : null,
      facilitator ? h('button', { type: 'button', class: 'rt-tool', onclick: () => this.versionsDialog() }, 'Versions') : null)
    this.updateToolbarState()
  }

  /** Keep the formatting buttons' pressed state in step with the selection. */
  updateToolbarState () {
    if (!this.editor || !this.editor.editor.isInitialized) return
    for (const [el, active] of this.pressed || []) el.setAttribute('aria-pressed', String(active()))
  }

  openDiscussion () {
    if (matchMedia('(max-width: 760px)').matches && !this.aside.classList.contains('rt-open')) {
      const button = document.querySelector(`[aria-controls="${this.aside.id}"]`)
      this.toggleSheet(this.aside, button)
    }
  }

  async exportDocument (format) {
    try {
      await this.api.download(doc(this.editor.name) + '/export?format=' + format)
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

  async versionsDialog () {
    const name = this.editor.name
    const list = h('ul', { class: 'rt-versions' })
    const label = h('input', { id: 'version-name', maxlength: 200, placeholder: 'e.g. After session 1' })
    const dialog = h('dialog', { class: 'rt-dialog', 'aria-labelledby': 'versions-title' },
      h('h2', { id: 'versions-title' }, `Versions of ${name}`),
      h('form', {
        onsubmit: async (event) => {
          event.preventDefault()
          await this.api.post(doc(name) + '/versions', { name: label.value || 'Saved version' }).catch((e) => announce(e.message))
          label.value = ''
          await fill()
        }
      }, h('label', { for: 'version-name' }, 'Name'), label, h('button', { type: 'submit' }, 'Save version')),
      list,
      h('button', { class: 'rt-primary', onclick: () => dialog.close() }, 'Close'))
    const fill = async () => {
      const { versions } = await this.api.get(doc(name) + '/versions')
      replace(list, versions.map((v) => h('li', {},
        h('span', {}, v.name, ' · ', v.reason, ' · ', new Date(v.created_at).toLocaleString()),
        h('button', { onclick: () => this.api.download(`${doc(name)}/versions/${v.id}/export?format=markdown`) }, 'Markdown'),
        h('button', { onclick: () => this.api.download(`${doc(name)}/versions/${v.id}/export?format=html`) }, 'HTML'),
        h('button', {
          onclick: async () => {
            if (!confirm(`Restore “${v.name}”? The current text is saved as a version first.`)) return
            await this.api.post(`${doc(name)}/versions/${v.id}/restore`).catch((e) => announce(e.message))
            await fill()
          }
        }, 'Restore'))))
      if (!versions.length) list.append(h('li', {}, 'No versions yet.'))
    }
    document.body.append(dialog)
    dialog.addEventListener('close', () => dialog.remove())
    dialog.showModal()
    await fill()
  }

  // Session controls

  sessionControls (state) {
    const minutes = h('input', { id: 'timer-minutes', type: 'number', min: 1, max: 1440, value: 10 })
    const observers = h('input', { type: 'checkbox', id: 'setting-observers' })
    observers.checked = state.settings.observers_can_ask
    const postFirst = h('input', { type: 'checkbox', id: 'setting-post-first' })
    postFirst.checked = state.settings.post_first_questions
    const save = (key, input) => this.api.patch('/settings', { [key]: input.checked }).catch((e) => announce(e.message))
    observers.addEventListener('change', () => save('observers_can_ask', observers))
    postFirst.addEventListener('change', () => save('post_first_questions', postFirst))
    const invites = h('ul', { class: 'rt-invites' })
    const showInvites = async () => {
      this.refreshInvites = showInvites
      const data = await this.api.get('/invites')
      replace(invites, Object.entries(data.invites).map(([role, code]) => h('li', {},
        h('span', {}, role, ': '),
        h('input', { readonly: true, value: `${location.origin}/join/${code}`, 'aria-label': `Invite link for ${role}s` }),
        h('button', { onclick: async () => { await this.api.post(`/invites/${role}/rotate`); showInvites() } }, 'New link'))))
    }
    return h('section', { class: 'rt-session', 'aria-label': 'Session controls' },
      h('h2', { class: 'rt-panel-title' }, 'Session'),
      h('form', {
        class: 'rt-inline',
        onsubmit: (event) => {
          event.preventDefault()
          this.api.put('/timer', { seconds: Math.round(Number(minutes.value) * 60), label: 'Session timer' }).catch((e) => announce(e.message))
        }
      }, h('label', { for: 'timer-minutes' }, 'Timer (minutes)'), minutes, h('button', { type: 'submit' }, 'Start'),
      h('button', { type: 'button', onclick: () => this.api.delete('/timer') }, 'Stop')),
      h('div', { class: 'rt-inline' },
        h('button', { onclick: () => this.api.put('/spotlight') }, 'Spotlight me'),
        h('button', { onclick: () => this.api.delete('/spotlight') }, 'End spotlight')),
      h('label', { class: 'rt-check' }, observers, ' Observers may ask questions'),
      h('label', { class: 'rt-check' }, postFirst, ' New questions are post-first'),
      h('button', { onclick: showInvites }, 'Invite links'), invites,
      h('button', {
        class: 'rt-danger',
        onclick: async () => {
          if (!confirm('End the session? Every document is saved as a version.')) return
          const { versions } = await this.api.post('/session/end')
          announce(`Session ended: ${versions.length} version(s) saved.`)
        }
      }, 'End session'))
  }

  memberOptions () {
    if (this.state.you.role !== 'member') return null
    const optOut = h('input', { type: 'checkbox', id: 'spotlight-opt-out' })
    optOut.addEventListener('change', () => {
      this.feed.setPresence({ spotlight_opt_out: optOut.checked })
      if (optOut.checked && this.spotlightFollow) this.follow(null)
    })
    return h('label', { class: 'rt-check' }, optOut, " Don't follow the facilitator's spotlight")
  }

  // Live events

  onEvent (event) {
    const data = event.data || {}
    switch (event.type) {
      case 'document.locked':
      case 'document.created':
      case 'document.updated': {
        const info = data.document && typeof data.document === 'object' ? data.document : null
        if (info) {
          const index = this.documents.findIndex((d) => d.name === info.name)
          if (index >= 0) this.documents[index] = info
          else this.documents.push(info)
        } else {
          const current = this.documents.find((d) => d.name === data.document)
          if (current) current.locked = data.locked
        }
        if (this.editor) {
          const current = this.documents.find((d) => d.name === this.editor.name)
          if (current) {
            this.editor.setLocked(current.locked && this.me.role !== 'facilitator')
            this.editor.mentorId = current.mentor_id
            this.showLock(current.locked)
            this.renderToolbar()
          }
        }
        this.renderDocuments()
        break
      }
      case 'participant.removed':
        if (data.participant_id === this.me.id) this.refused('A facilitator removed you from this room.')
        break
      case 'invite.rotated':
        // Keep the invite links on show current, whoever replaced one.
        if (this.refreshInvites) this.refreshInvites().catch((e) => announce(e.message))
        break
      case 'timer.started':
        this.setTimer(data)
        break
      case 'timer.stopped':
        this.setTimer(null)
        break
      case 'spotlight.started':
        this.setSpotlight(data.participant)
        break
      case 'spotlight.ended':
      case 'session.ended':
        this.setSpotlight(null)
        if (event.type === 'session.ended') this.setTimer(null)
        break
      case 'document.restored':
        announce(`${data.by} restored “${data.version.name}” of ${data.document}.`)
        break
      default:
        if (this.comments) this.comments.apply(event)
    }
  }

  onRoster (rows) {
    const before = this.myColour()
    this.roster = rows
    this.people.update(rows)
    if (this.editor && this.myColour() !== before) {
      this.editor.editor.commands.updateUser({ id: this.me.id, name: this.me.name, color: this.myColour() })
    }
    if (this.following) {
      const row = rows.find((r) => r.id === this.following)
      if (!row) this.follow(null)
      else if (row.document && (!this.editor || this.editor.name !== row.document)) this.open(row.document)
    }
  }

  follow (id, spotlight = false) {
    this.following = id
    this.spotlightFollow = Boolean(id && spotlight)
    this.people.following = id
    this.people.render()
    if (this.feed) this.feed.setPresence({ following: id })
    if (id) {
      const row = this.roster.find((r) => r.id === id)
      if (row && row.document) this.open(row.document)
      if (this.editor) this.editor.showCaretOf(id)
      announce(`Following ${row ? row.name : 'them'}.`)
    }
  }

  setSpotlight (person) {
    this.people.spotlight = person ? person.id : null
    this.people.render()
    this.banner.hidden = !person
    this.banner.textContent = person ? `${person.name} has the spotlight.` : ''
    const optedOut = this.feed && this.feed.presence.spotlight_opt_out
    if (person && person.id !== this.me.id && (this.me.role === 'observer' || (this.me.role === 'member' && !optedOut))) {
      this.follow(person.id, true)
    } else if (!person && this.spotlightFollow) {
      this.follow(null)
    }
  }

  setTimer (timer) {
    clearInterval(this.timerTick)
    if (!timer) {
      this.timerEl.hidden = true
      return
    }
    const ends = new Date(timer.ends_at).getTime()
    const tick = () => {
      const left = Math.max(0, Math.round((ends - Date.now()) / 1000))
      this.timerEl.hidden = false
      this.timerEl.textContent = `${timer.label || 'Timer'} ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`
      if (left === 0) {
        clearInterval(this.timerTick)
        announce('Time is up.')
      }
    }
    tick()
    this.timerTick = setInterval(tick, 1000)
  }

  setStatus (which, status) {
    this.statuses = { ...(this.statuses || {}), [which]: status }
    const values = Object.values(this.statuses)
    const overall = values.includes('refused')
      ? 'refused'
      : values.every((v) => v === 'connected' || v === 'live') ? 'online' : (values.includes('disconnected') || values.includes('offline') ? 'offline: your edits are kept and sent when back' : 'connecting')
    this.statusPill.textContent = overall
    this.statusPill.dataset.state = overall.split(':')[0]
  }

  trackActivity () {
    let timer = null
    let state = 'active'
    const set = (next) => {
      if (next !== state) {
        state = next
        this.feed.setPresence({ state })
      }
    }
    const active = () => {
      if (document.visibilityState === 'hidden') return
      set('active')
      clearTimeout(timer)
      timer = setTimeout(() => set('idle'), IDLE_AFTER_MS)
    }
    for (const type of ['keydown', 'pointerdown', 'pointermove', 'scroll', 'focus']) {
      window.addEventListener(type, active, { passive: true, capture: true })
    }
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') set('away')
      else active()
    })
    active()
  }
}

function roomMissing () {
  page(h('main', { class: 'rt-center' }, h('div', { class: 'rt-card' },
    h('h1', {}, 'Open your invite link'),
    h('p', {}, 'To join a room, open the invite link your facilitator shared with you.'))))
}

const path = location.pathname
const joinMatch = /^\/join\/([^/]+)$/.exec(path)
const roomMatch = /^\/room\/([^/]+)$/.exec(path)
if (joinMatch) {
  joinPage(decodeURIComponent(joinMatch[1]))
} else if (roomMatch) {
  const slug = decodeURIComponent(roomMatch[1])
  const session = loadSession(slug)
  if (session) {
    new RoomPage(slug, session).start().catch((error) => {
      page(h('main', { class: 'rt-center' }, h('p', { class: 'rt-error', role: 'alert' }, 'Could not open the room: ' + error.message)))
    })
  } else {
    roomMissing()
  }
} else {
  roomMissing()
}
