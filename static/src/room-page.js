// The room page (/room/{slug}): loads the room and the server's vocabulary, lays out
// its parts and keeps them live: room events, the roster, the open document.

import { RoomApi, vocabulary as loadVocabulary } from './api.js'
import { CommentsPanel } from './comments.js'
import { closeAll, sendWaitingEdits } from './doc-sync.js'
import { DocumentList } from './documents.js'
import { announce, h, replace, showPage } from './dom.js'
import { DocumentEditor } from './editor.js'
import { RoomFeed } from './feed.js'
import { Following, spotlightOptOut } from './follow.js'
import { forgetCopies } from './local-copies.js'
import { t } from './i18n.js'
import { RoomLayout } from './layout.js'
import { colourOf } from './logic/colours.js'
import { applyDocumentEvent, lockedFor, readOnlyBanner, withDocument } from './logic/documents.js'
import { mentorOf, seesRoom } from './logic/mentors.js'
import { abilities } from './logic/roles.js'
import { firstDocument, roomPath } from './logic/routes.js'
import { RosterPanel, roleLabel, roleTitle } from './people.js'
import { Participants, PeoplePanel, keepSeat, reloadForRole, roleChangedNotice } from './people-manage.js'
import { MentorDialog, RoomToolbar, mentorBanner } from './mentor.js'
import { removeDialog } from './removal.js'
import { SessionControls } from './session-controls.js'
import { forgetSession } from './session.js'
import { ConnectionStatus, SessionTimer, trackActivity } from './status.js'
import { Notices, showReadOnlyBanner } from './notices.js'
import { ParticipationPage, myContributions } from './participation.js'
import { versionsDialog } from './versions.js'

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
    // seesRoom: false for a mentor from outside the cohort, who sees only the documents they mentor.
    const me = { ...state.you, can: abilities(vocabulary, state.you.role), seesRoom: seesRoom(vocabulary, state.you.role) }
    this.me = me
    this.roleName = (key) => roleLabel(vocabulary, key)
    this.documents = state.documents
    this.build(state, vocabulary)
    this.comments = new CommentsPanel({
      root: this.layout.discussion,
      api: this.api,
      me,
      room: this.slug,
      reactions: vocabulary.reactions,
      getEditor: () => this.editor,
      openDocument: (name) => this.open(name),
      onChange: () => {}
    })
    this.comments.settings = state.settings
    this.people = new RosterPanel({
      root: this.rosterRoot,
      me,
      vocabulary,
      onFollow: (id) => this.following.follow(id),
      onRemove: (row) => removeDialog({ api: this.api, row, roleName: this.roleName }),
      onYou: (row) => this.layout.showColour(row.colour),
      onManage: () => this.peoplePanel.open()
    })
    this.startPeople(vocabulary)
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
    else this.showNoDocument()
    // Edits an earlier page kept in this browser for other documents go out now.
    sendWaitingEdits({
      room: this.slug,
      token: this.session.token,
      participant: me.id,
      except: first,
      writable: (name) => {
        const info = this.documents.find((d) => d.name === name)
        return Boolean(info) && me.can.edit && !lockedFor(info, me.can)
      }
    })
    await this.comments.load()
  }

  build (state, vocabulary) {
    const me = this.me
    this.status = new ConnectionStatus({ writer: me.can.edit })
    this.timer = new SessionTimer()
    this.documentList = new DocumentList({
      api: this.api,
      templates: vocabulary.templates,
      canCreate: me.can.createDocuments,
      mentorOf: (d) => this.mentorLabel(d),
      onOpen: (name) => { this.layout.closeSheet(); this.open(name) },
      onCreated: (created) => {
        this.documents = withDocument(this.documents, created)
        this.renderDocuments()
        this.layout.closeSheet()
        this.open(created.name)
      }
    })
    this.rosterRoot = h('section', { class: 'rt-roster', 'aria-label': t('states.people') })
    this.controls = me.can.moderate
      ? new SessionControls({ api: this.api, settings: state.settings, roleName: this.roleName })
      : null
    this.layout = new RoomLayout({
      title: state.title,
      you: { name: me.name, role: this.roleName(me.role) },
      status: [this.timer.element, this.status.element],
      side: [this.documentList.list, this.documentList.form, this.rosterRoot,
        this.controls ? this.controls.element : spotlightOptOut(me.can, (checked) => this.following.optOut(checked))]
    })
    this.mentorDialog = new MentorDialog({
      api: this.api,
      me,
      people: () => (this.participants ? this.participants.byId : new Map()),
      roleName: this.roleName,
      onChanged: (document) => this.onEvent({ type: 'document.updated', data: { document } })
    })
    this.toolbar = new RoomToolbar({
      root: this.layout.toolbar,
      api: this.api,
      me,
      room: state.title,
      getEditor: () => this.editor,
      onComment: () => { this.comments.commentOnSelection(); this.layout.openDiscussion() },
      onAsk: () => { this.comments.ask(); this.layout.openDiscussion() },
      canAsk: () => Boolean(this.comments && this.comments.canAsk()),
      seesRoom: me.seesRoom,
      onMentor: (name) => {
        const info = this.documents.find((d) => d.name === name)
        if (info) this.mentorDialog.show(info)
      }
    })
    this.notices = new Notices()
    this.layout.lockBanner.after(this.notices.element)
    this.showParticipation()
    this.layout.show()
  }

  // Participation: "My contributions" for everyone, the Participation page for facilitators

  /** The "you" menu's ways to one's own contributions and (facilitators) the room's participation. */
  showParticipation () {
    const openThread = (id) => this.openThread(id)
    const onClosed = () => this.layout.youButton.focus()
    const opened = (open) => () => {
      this.layout.closeYou(false)
      Promise.resolve(open()).catch((error) => announce(error.message))
    }
    this.participation = this.me.can.moderate
      ? new ParticipationPage({ api: this.api, roleName: this.roleName, openThread, onClosed })
      : null
    replace(this.layout.youTools,
      h('button', {
        type: 'button',
        class: 'rt-you-tool',
        'aria-haspopup': 'dialog',
        onclick: opened(() => myContributions({ api: this.api, openThread, onClosed }))
      }, t('contributions.open')),
      this.participation
        ? h('button', {
          type: 'button',
          class: 'rt-you-tool',
          'aria-haspopup': 'dialog',
          onclick: opened(() => this.participation.open())
        }, t('participation.open'))
        : null)
  }

  /** Show thread `id` in the discussion (its tab, its passage), read first if not known here. */
  async openThread (id) {
    if (!this.comments) return
    if (!this.comments.threads.has(id)) await this.comments.refresh(id)
    const thread = this.comments.threads.get(id)
    if (!thread) {
      announce(t('participation.threadGone'))
      return
    }
    this.comments.tab = thread.kind === 'question' ? 'questions' : 'comments'
    this.comments.focusThread(thread)
    if (matchMedia('(max-width: 760px)').matches) this.layout.openSheetFor(this.layout.aside)
    const card = this.layout.discussion.querySelector(`[data-thread="${id}"]`)
    if (card) {
      card.setAttribute('tabindex', '-1')
      card.focus({ preventScroll: true })
      card.scrollIntoView({ block: 'nearest' })
    }
  }

  // People: guests, roles, the People panel

  /**
   * The participant list beside the roster (who is a guest, roles as they change),
   * "Keep your seat" for a guest, the People panel for facilitators, and the notice
   * after a reload for a changed role.
   */
  startPeople (vocabulary) {
    this.peoplePanel = this.me.can.moderate
      ? new PeoplePanel({
        api: this.api,
        me: this.me,
        vocabulary,
        onRemove: (person) => removeDialog({ api: this.api, row: person, roleName: this.roleName })
      })
      : null
    this.participants = new Participants(this.api, (byId) => {
      this.people.setPeople(byId)
      // Mentors are named in the document list, and in the Mentor dialog.
      this.renderDocuments()
      this.mentorDialog.refresh()
      const mine = byId.get(this.me.id)
      if (mine) this.showGuest(Boolean(mine.guest))
    })
    const participant = this.session.participant
    if (participant && participant.id === this.me.id && participant.guest) this.showGuest(true)
    this.participants.load().catch(() => { /* no guest tags until the next arrival */ })
    const notice = roleChangedNotice(this.slug, (role) => roleTitle(vocabulary, role))
    if (notice) this.notices.element.after(notice)
  }

  /** "Keep your seat" in the "you" menu while this person is a guest. */
  showGuest (guest) {
    const slot = this.layout.youExtra
    if (!guest) {
      replace(slot)
    } else if (!slot.firstChild) {
      replace(slot, keepSeat({ api: this.api, onGone: () => this.participants.notGuest(this.me.id) }))
    }
  }

  async reload () {
    const state = await this.api.get('')
    this.documents = state.documents
    this.renderDocuments()
    this.comments.settings = state.settings
    this.openFirstIfNone()
    await this.comments.load()
  }

  refused (message) {
    forgetSession(this.slug)
    if (this.feed) this.feed.stop()
    if (this.editor) this.editor.destroy()
    // This browser keeps no copy of a room one may no longer enter.
    forgetCopies(this.slug, closeAll)
    showPage(h('main', { class: 'rt-center' }, h('div', { class: 'rt-card' },
      h('h1', {}, t('states.notInRoom')),
      h('p', {}, message || t('states.accessEnded')),
      h('p', {}, t('states.openInviteAgain')))))
  }

  // The open document

  renderDocuments () {
    this.documentList.render(this.documents, this.editor ? this.editor.name : null)
  }

  /** How the document list names `d`'s mentor ("Mentor: Dana", "Mentor: you"), or null. */
  mentorLabel (d) {
    const mentor = mentorOf(d, this.participants ? this.participants.byId : new Map(), this.me.id)
    if (!mentor) return null
    if (mentor.you) return t('mentor.listedYou')
    return mentor.name ? t('mentor.listed', { name: mentor.name }) : t('mentor.listedUnknown')
  }

  current () {
    return this.documents.find((d) => d.name === this.editor.name)
  }

  /**
   * Before the room has a document, the document area says so and how to go on:
   * create the first one (with the templates), or what to do until one is shared.
   */
  showNoDocument () {
    if (this.editor || this.documents.length) return
    const canAsk = Boolean(this.comments && this.comments.canAsk())
    // Shown already as it would be: what was typed into it stays.
    if (this.layout.editorRoot.classList.contains('rt-editor-empty') && this.emptyCanAsk === canAsk) return
    this.emptyCanAsk = canAsk
    const emptyState = this.documentList.emptyState({
      moderate: this.me.can.moderate,
      mentor: !this.me.seesRoom,
      canAsk,
      onAsk: () => { this.comments.ask(); this.layout.openDiscussion() }
    })
    this.layout.editorRoot.classList.add('rt-editor-empty')
    replace(this.layout.editorRoot, emptyState)
    showReadOnlyBanner(this.layout.lockBanner, null)
  }

  /** The first document opens by itself once there is one and none is open. */
  openFirstIfNone () {
    if (!this.editor && this.documents.length) this.open(this.documents[0].name)
    else this.showNoDocument()
  }

  open (name) {
    if (this.editor && this.editor.name === name) return
    // A mentor from outside the cohort opens only the documents they mentor (following
    // someone, or the spotlight, may lead elsewhere).
    if (!this.me.seesRoom && !this.documents.some((d) => d.name === name)) {
      announce(t('mentor.notVisible'))
      return
    }
    if (this.editor) this.editor.destroy()
    const info = this.documents.find((d) => d.name === name) || { name, locked: false }
    const me = { id: this.me.id, name: this.me.name, colour: this.myColour() }
    this.layout.editorRoot.classList.remove('rt-editor-empty')
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
    this.showReadOnly(info)
    this.toolbar.render(this.current() || {})
    this.renderDocuments()
    if (this.feed) this.feed.setPresence({ document: name })
    history.replaceState(null, '', roomPath(this.slug, name))
    if (this.comments) this.comments.render()
  }

  myColour () {
    return colourOf(this.roster, this.me.id)
  }

  /** The banner above the document when this person cannot edit it, and why. */
  showReadOnly (info) {
    showReadOnlyBanner(this.layout.lockBanner, this.me.seesRoom ? readOnlyBanner(info, this.me.can) : mentorBanner())
  }

  // Live events

  onEvent (event) {
    const data = event.data || {}
    switch (event.type) {
      case 'document.locked':
      case 'document.created':
      case 'document.updated':
        this.documents = applyDocumentEvent(this.documents, data)
        this.mentorDialog.update(this.documents.find((d) => d.name === this.mentorDialog.documentName))
        // A mentor just seated by an invitation: their name is read with the newcomers.
        if (this.documents.some((d) => d.mentor_id && !this.participants.get(d.mentor_id))) this.participants.soon(false)
        if (this.editor) {
          const current = this.current()
          if (current) {
            this.editor.setLocked(lockedFor(current, this.me.can))
            this.editor.mentorId = current.mentor_id
            this.showReadOnly(current)
            this.toolbar.render(current)
          }
        }
        this.renderDocuments()
        this.openFirstIfNone()
        break
      case 'participant.removed':
        if (data.participant_id === this.me.id) {
          this.refused(t('states.removed'))
          break
        }
        this.participants.removed(data.participant_id)
        if (this.peoplePanel) this.peoplePanel.removed(data.participant_id)
        break
      case 'participant.role':
        // This person's sockets close too (4000) and reconnect: the page reloads, drawn
        // for the new role. Others' rows show it at once.
        if (data.participant_id === this.me.id) {
          if (data.role !== this.me.role) reloadForRole(this.slug, data.role)
          break
        }
        this.participants.setRole(data.participant_id, data.role)
        if (this.peoplePanel) this.peoplePanel.setRole(data.participant_id, data.role)
        break
      case 'participant.updated':
        // A guest kept their seat with an email: the tag goes, everywhere at once.
        if (data.guest === false) {
          this.participants.notGuest(data.participant_id)
          if (data.participant_id === this.me.id) this.showGuest(false)
        }
        break
      case 'hidden':
        // Something a mentor from outside the cohort does not see: only its number counts (feed.js).
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
        this.notices.restored({
          data,
          at: event.at,
          open: this.editor && this.editor.name,
          onOpenVersions: this.me.can.moderate ? (name) => versionsDialog(this.api, name) : null
        })
        break
      default:
        if (this.comments) this.comments.apply(event)
        if (event.type === 'settings.updated') this.showNoDocument()
    }
  }

  onRoster (rows) {
    const before = this.myColour()
    this.roster = rows
    this.people.update(rows)
    this.participants.onRoster(rows)
    if (this.editor && this.myColour() !== before) {
      this.editor.editor.commands.updateUser({ id: this.me.id, name: this.me.name, color: this.myColour() })
    }
    this.following.onRoster(rows)
  }
}
