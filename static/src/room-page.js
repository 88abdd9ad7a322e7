// The room page (/room/{slug}): loads the room and the server's vocabulary, lays out
// its parts and keeps them live: room events, the roster, the open document.

import { RoomApi, vocabulary as loadVocabulary } from './api.js'
import { CommentsPanel } from './comments.js'
import { DocumentList } from './documents.js'
import { announce, h, replace, showPage } from './dom.js'
import { DocumentEditor } from './editor.js'
import { RoomFeed } from './feed.js'
import { Following, spotlightOptOut } from './follow.js'
import { RoomLayout } from './layout.js'
import { colourOf } from './logic/colours.js'
import { applyDocumentEvent, lockedFor, lockMessage, withDocument } from './logic/documents.js'
import { abilities, roleName } from './logic/roles.js'
import { firstDocument, roomPath } from './logic/routes.js'
import { RosterPanel } from './people.js'
import { removeDialog } from './removal.js'
import { SessionControls } from './session-controls.js'
import { forgetSession } from './session.js'
import { ConnectionStatus, SessionTimer, trackActivity } from './status.js'
import { Toolbar } from './toolbar.js'

export class RoomPage {
  constructor (slug, session) {
    this.slug = slug
    this.session = session
    this.api = new RoomApi(slug, session.token)
    this.editor = null
    this.documents = []
    this.roster = []
  }

  async start () {
    let state, vocabulary
    try {
      [state, vocabulary] = await Promise.all([this.api.get(''), loadVocabulary()])
    } catch (error) {
      if (error.status === 401 || error.status === 403) return this.refused(error.message)
      throw error
    }
    const me = { ...state.you, can: abilities(vocabulary, state.you.role) }
    this.me = me
    this.roleName = (key) => roleName(vocabulary, key)
    this.documents = state.documents
    this.build(state, vocabulary)
    this.comments = new CommentsPanel({
      root: this.layout.discussion,
      api: this.api,
      me,
      room: this.slug,
      reactions: vocabulary.reactions,
      getEditor: () => this.editor,
      onChange: () => {}
    })
    this.comments.settings = state.settings
    this.people = new RosterPanel({
      root: this.rosterRoot,
      me,
      vocabulary,
      onFollow: (id) => this.following.follow(id),
      onRemove: (row) => removeDialog({ api: this.api, row, roleName: this.roleName })
    })
    this.following = new Following({
      me,
      people: this.people,
      layout: this.layout,
      open: (name) => this.open(name),
      getEditor: () => this.editor,
      getFeed: () => this.feed,
      getRoster: () => this.roster
    })
    this.people.spotlight = state.spotlight && state.spotlight.id
    this.roster = state.roster
    this.people.update(state.roster)
    this.renderDocuments()
    this.timer.show(state.timer)
    this.following.setSpotlight(state.spotlight)
    this.feed = new RoomFeed(this.slug, this.session.token, {
      onEvent: (event) => this.onEvent(event),
      onRoster: (rows) => this.onRoster(rows),
      onStatus: (status) => this.status.set('room', status),
      onResync: () => this.reload(),
      onRefused: (code, reason) => this.refused(reason)
    })
    this.feed.start(state.seq)
    trackActivity(this.feed)
    const first = firstDocument(location.search, this.documents)
    if (first) this.open(first)
    await this.comments.load()
  }

  build (state, vocabulary) {
    const me = this.me
    this.status = new ConnectionStatus()
    this.timer = new SessionTimer()
    this.documentList = new DocumentList({
      api: this.api,
      templates: vocabulary.templates,
      canCreate: me.can.createDocuments,
      onOpen: (name) => this.open(name),
      onCreated: (created) => {
        this.documents = withDocument(this.documents, created)
        this.renderDocuments()
        this.open(created.name)
      }
    })
    this.rosterRoot = h('section', { class: 'rt-roster', 'aria-label': 'People' })
    this.controls = me.can.moderate
      ? new SessionControls({ api: this.api, settings: state.settings, roleName: this.roleName })
      : null
    this.layout = new RoomLayout({
      title: state.title,
      you: `${me.name} · ${this.roleName(me.role)}`,
      status: [this.timer.element, this.status.element],
      side: [this.documentList.list, this.documentList.form, this.rosterRoot,
        this.controls ? this.controls.element : spotlightOptOut(me.can, (checked) => this.following.optOut(checked))]
    })
    this.toolbar = new Toolbar({
      root: this.layout.toolbar,
      api: this.api,
      me,
      getEditor: () => this.editor,
      onComment: () => { this.comments.commentOnSelection(); this.layout.openDiscussion() },
      onAsk: () => { this.comments.ask(); this.layout.openDiscussion() }
    })
    this.layout.show()
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
    showPage(h('main', { class: 'rt-center' }, h('div', { class: 'rt-card' },
      h('h1', {}, 'You are not in this room'),
      h('p', {}, message || 'Your access ended.'),
      h('p', {}, 'Open your invite link again, or ask the facilitator for a new one.'))))
  }

  // The open document

  renderDocuments () {
    this.documentList.render(this.documents, this.editor ? this.editor.name : null)
  }

  current () {
    return this.documents.find((d) => d.name === this.editor.name)
  }

  open (name) {
    if (this.editor && this.editor.name === name) return
    if (this.editor) this.editor.destroy()
    const info = this.documents.find((d) => d.name === name) || { name, locked: false }
    const me = { id: this.me.id, name: this.me.name, colour: this.myColour() }
    replace(this.layout.editorRoot)
    this.editor = new DocumentEditor({
      element: this.layout.editorRoot,
      room: this.slug,
      name,
      token: this.session.token,
      me,
      editable: this.me.can.edit,
      onStatus: (status) => this.status.set('doc', status),
      onChange: () => { if (this.comments) this.comments.scheduleRender() }
    })
    this.editor.editor.on('transaction', () => this.toolbar.update())
    this.editor.mentorId = info.mentor_id
    this.editor.setLocked(lockedFor(info, this.me.can))
    // The caret decorations are redrawn a tick after the awareness change (y-tiptap
    // defers them), so the view follows the caret once it has moved.
    this.editor.onAwareness(() => {
      if (this.following.id) setTimeout(() => this.editor.showCaretOf(this.following.id), 0)
    })
    this.showLock(info.locked)
    this.toolbar.render(this.current() || {})
    this.renderDocuments()
    if (this.feed) this.feed.setPresence({ document: name })
    history.replaceState(null, '', roomPath(this.slug, name))
    if (this.comments) this.comments.render()
  }

  myColour () {
    return colourOf(this.roster, this.me.id)
  }

  showLock (locked) {
    this.layout.lockBanner.hidden = !locked
    this.layout.lockBanner.textContent = lockMessage(locked, this.me.can)
  }

  // Live events

  onEvent (event) {
    const data = event.data || {}
    switch (event.type) {
      case 'document.locked':
      case 'document.created':
      case 'document.updated':
        this.documents = applyDocumentEvent(this.documents, data)
        if (this.editor) {
          const current = this.current()
          if (current) {
            this.editor.setLocked(lockedFor(current, this.me.can))
            this.editor.mentorId = current.mentor_id
            this.showLock(current.locked)
            this.toolbar.render(current)
          }
        }
        this.renderDocuments()
        break
      case 'participant.removed':
        if (data.participant_id === this.me.id) this.refused('A facilitator removed you from this room.')
        break
      case 'invite.rotated':
        // Keep the invite links on show current, whoever replaced one.
        if (this.controls && this.controls.invitesShown) this.controls.showInvites().catch((e) => announce(e.message))
        break
      case 'timer.started':
        this.timer.show(data)
        break
      case 'timer.stopped':
        this.timer.show(null)
        break
      case 'spotlight.started':
        this.following.setSpotlight(data.participant)
        break
      case 'spotlight.ended':
      case 'session.ended':
        this.following.setSpotlight(null)
        if (event.type === 'session.ended') this.timer.show(null)
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
    this.following.onRoster(rows)
  }
}
