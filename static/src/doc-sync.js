// A document's Yjs state, synced with the server by y-websocket. For people who may
// edit, the state is also kept in this browser (IndexedDB, y-indexeddb) so that edits
// made offline survive a reload or a closed tab; the connection opens once that copy is
// loaded, so the first sync sends them. Counts the local edits the server has not
// confirmed (logic/pending.js), asking the server now and then for its answer to a sync
// request, and never sends a document update while its person may not edit.
//
// A document closed with edits still unconfirmed goes on syncing without an editor
// until the server has them; so does one whose edits an earlier page left unsent.

import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { IndexeddbPersistence } from 'y-indexeddb'
import * as syncProtocol from 'y-protocols/sync'
import { messageAuth, messageSync, WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

import { copyName, documentsWaiting, noteCopy } from './local-copies.js'
import { isRefusal } from './logic/closes.js'
import { PendingEdits } from './logic/pending.js'

// The server answers 20 sync requests a minute per connection and closes one that asks
// more often: a request at most every 4 seconds, 300 ms after the edit it confirms.
const REQUEST_INTERVAL_MS = 4000
const REQUEST_DELAY_MS = 300
// How long to wait for the browser's copy before connecting without it.
const LOAD_TIMEOUT_MS = 5000
const EDITS_KEY = 'unconfirmed-edits'
// y-indexeddb's stores: the document's updates, and other values (the count above).
const UPDATES_STORE = 'updates'
const CUSTOM_STORE = 'custom'

const open = new Set()
const finishing = new Map()
const listeners = new Set()

function changed () {
  for (const listener of listeners) listener()
}

/** Call `listener` whenever the count of unconfirmed edits of any document changes. */
export function onEditsChange (listener) {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/**
 * This page's edits the server lacks, over every document it syncs: {waiting} not sent,
 * {unconfirmed} not confirmed (sent or not), {held} waiting in documents their person
 * may not edit now (locked), {unkept} not yet written to this browser's copy.
 */
export function editsSummary () {
  const summary = { waiting: 0, unconfirmed: 0, held: 0, unkept: 0 }
  for (const sync of [...open, ...finishing.values()]) {
    summary.waiting += sync.edits.waiting
    summary.unconfirmed += sync.edits.unconfirmed
    if (!sync.writable) summary.held += sync.edits.waiting
    if (sync.persistence) summary.unkept += sync.edits.made - sync.kept
  }
  return summary
}

function shouldReconnect (event) {
  return !isRefusal(event.code)
}

/** Stop syncing every document (their copies stay); resolves once their copies are closed. */
export function closeAll () {
  return Promise.all([...open, ...finishing.values()].map((sync) => sync.destroy()))
}

/**
 * Send the edits that copies of `room`'s documents other than `except` kept from an
 * earlier page. `writable(name)`: whether this person may edit that document now.
 */
export function sendWaitingEdits ({ room, token, participant, except, writable }) {
  for (const name of documentsWaiting(room, participant)) {
    if (name === except || !writable(name) || finishing.has(copyName(room, participant, name))) continue
    new DocumentSync({ room, name, token, participant, writable: true, keep: true }).release()
  }
}

export class DocumentSync {
  /**
   * Sync document `name` of `room` as `participant` (with `token`); `writable`: whether
   * they may edit it now; `keep`: keep a copy in this browser. A document still
   * finishing from earlier in this page is taken over rather than opened twice.
   * onStatus('connecting'|'connected'|'disconnected') and onSynced() follow the connection.
   */
  static open (options) {
    const key = copyName(options.room, options.participant, options.name)
    const earlier = finishing.get(key)
    if (earlier && !earlier.destroyed && earlier.token === options.token) {
      finishing.delete(key)
      open.add(earlier)
      earlier.resume(options)
      return earlier
    }
    return new DocumentSync(options)
  }

  constructor ({ room, name, token, participant, writable, keep, onStatus = () => {}, onSynced = () => {} }) {
    this.room = room
    this.name = name
    this.token = token
    this.participant = participant
    this.key = copyName(room, participant, name)
    this.writable = writable
    this.onStatus = onStatus
    this.onSynced = onSynced
    this.status = 'connecting'
    this.edits = new PendingEdits()
    this.loaded = false
    this.destroyed = false
    this.background = false
    // The server's state arrived on this connection and was not answered (read-only).
    this.unanswered = false
    this.requestTimer = null
    this.lastRequestAt = -Infinity
    // Local edits (counted as in this.edits.made) the browser's copy surely holds.
    this.kept = 0
    this.keeping = false
    this.ydoc = new Y.Doc()
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
    this.provider = new WebsocketProvider(
      `${scheme}//${location.host}/sync/${encodeURIComponent(room)}`, name, this.ydoc,
      // Other tabs are not synced directly: a tab of someone else's in this browser
      // would hand this connection edits that are not this person's.
      { params: { token }, connect: false, disableBc: true, shouldReconnect }
    )
    this.watchProvider()
    this.ydoc.on('update', (_update, _origin, _doc, transaction) => {
      if (!transaction.local) return
      this.edits.edit()
      this.scheduleRequest(REQUEST_DELAY_MS)
      this.changed()
    })
    open.add(this)
    onStatus('connecting')
    if (keep && globalThis.indexedDB) {
      this.persistence = new IndexeddbPersistence(this.key, this.ydoc)
      this.load()
    } else {
      this.loaded = true
      this.provider.connect()
    }
  }

  async load () {
    const persistence = this.persistence
    let timer
    const timeout = new Promise((resolve) => { timer = setTimeout(resolve, LOAD_TIMEOUT_MS) })
    await Promise.race([persistence.whenSynced, timeout])
    clearTimeout(timer)
    if (this.destroyed) return
    if (persistence.synced) {
      try {
        this.edits.restore(await persistence.get(EDITS_KEY))
        this.kept = this.edits.made
      } catch {
        // The count is lost, not the edits: they are sent all the same.
      }
    }
    if (this.destroyed) return
    this.loaded = true
    this.changed()
    // A document finishing in the background with nothing left to send is closed now.
    if (!this.destroyed) this.provider.connect()
  }

  watchProvider () {
    const provider = this.provider
    provider.on('status', ({ status }) => {
      if (status === 'connected') {
        // y-websocket sends its sync request (step 1) right after saying so.
        this.edits.connected()
        this.edits.request()
        this.unanswered = false
        this.lastRequestAt = -Infinity
      }
      this.status = status
      this.onStatus(status)
      this.changed()
    })
    provider.on('connection-close', () => {
      clearTimeout(this.requestTimer)
      this.requestTimer = null
      this.edits.disconnected()
      this.changed()
    })
    provider.on('sync', (synced) => { if (synced) this.onSynced() })

    const handlers = provider.messageHandlers
    const sync = handlers[messageSync]
    handlers[messageSync] = (encoder, decoder, ...rest) => {
      const kind = decoding.peekVarUint(decoder)
      if (kind === syncProtocol.messageYjsSyncStep1) {
        // The server's state: the answer (step 2) holds whatever it lacks, the edits
        // made offline among them. Someone who may not edit answers nothing.
        if (!this.writable) {
          this.unanswered = true
          return
        }
        sync(encoder, decoder, ...rest)
        this.edits.synced()
        this.changed()
        // y-websocket sends the answer once this returns: the request goes after it.
        this.scheduleRequest(0)
        return
      }
      sync(encoder, decoder, ...rest)
      if (kind === syncProtocol.messageYjsSyncStep2) {
        this.edits.answered()
        this.changed()
      }
    }
    const auth = handlers[messageAuth]
    handlers[messageAuth] = (...args) => {
      // Permission denied: the server drops this connection's edits (locked, read-only).
      this.edits.refuse()
      this.changed()
      auth(...args)
    }

    // Local updates go out only while this person may edit.
    this.ydoc.off('update', provider._updateHandler)
    const send = provider._updateHandler
    provider._updateHandler = (update, origin) => {
      if (this.writable) send(update, origin)
    }
    this.ydoc.on('update', provider._updateHandler)
  }

  /** Ask the server to answer (it confirms the edits sent so far), soon and not too often. */
  scheduleRequest (delay) {
    if (this.requestTimer !== null || !this.edits.needsRequest()) return
    const wait = Math.max(delay, this.lastRequestAt + REQUEST_INTERVAL_MS - Date.now())
    this.requestTimer = setTimeout(() => {
      this.requestTimer = null
      if (this.edits.needsRequest()) this.request()
    }, wait)
  }

  request () {
    const ws = this.provider.ws
    if (!this.provider.wsconnected || !ws || ws.readyState !== WebSocket.OPEN) return
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, messageSync)
    syncProtocol.writeSyncStep1(encoder, this.ydoc)
    ws.send(encoding.toUint8Array(encoder))
    this.lastRequestAt = Date.now()
    this.edits.request()
  }

  /** Whether this person may edit the document now: updates go out only then. */
  setWritable (writable) {
    if (writable === this.writable) return
    this.writable = writable
    if (writable && this.unanswered && this.provider.wsconnected) {
      this.unanswered = false
      if (this.edits.unconfirmed > 0) {
        // The server's state went unanswered: a new connection answers it.
        this.provider.disconnect()
        this.provider.connect()
      } else {
        this.edits.synced()
      }
    }
    this.changed()
  }

  changed () {
    if (this.destroyed) return
    if (this.persistence && this.loaded) this.keep()
    changed()
    if (this.background && this.loaded && this.edits.unconfirmed === 0) {
      this.destroyed = true
      // Not from within the provider's own message handler.
      queueMicrotask(() => this.close())
    }
  }

  /**
   * Store the count of unconfirmed edits with the copy, once y-indexeddb has queued the
   * updates counted so far (it writes each in the same task, after this document's own
   * listeners). The transaction spans its updates store, so it starts only after those
   * writes finished: once it completes, the copy holds every edit counted.
   */
  keep () {
    if (this.keeping) return
    this.keeping = true
    queueMicrotask(() => {
      this.keeping = false
      const db = this.persistence.db
      if (this.destroyed || !db) return
      const made = this.edits.made
      const count = this.edits.unconfirmed
      noteCopy(this.room, this.participant, this.name, count)
      try {
        const transaction = db.transaction([UPDATES_STORE, CUSTOM_STORE], 'readwrite')
        transaction.objectStore(CUSTOM_STORE).put(count, EDITS_KEY)
        transaction.oncomplete = () => {
          if (made <= this.kept) return
          this.kept = made
          changed()
        }
      } catch {
        // The copy is closing (the page or the document goes): nothing more to keep.
      }
    })
  }

  /**
   * The editor lets go of the document: it closes now, or once the server confirmed
   * its edits if it holds some that this person may send.
   */
  release () {
    this.onStatus = () => {}
    this.onSynced = () => {}
    if (this.destroyed) return
    if (!this.writable || (this.loaded && this.edits.unconfirmed === 0)) {
      this.destroy()
      return
    }
    open.delete(this)
    finishing.set(this.key, this)
    this.background = true
    // Nobody sees a caret of a document this page does not show.
    this.provider.awareness.setLocalState(null)
    this.changed()
  }

  /** Back in an editor (see DocumentSync.open). */
  resume ({ writable, onStatus = () => {}, onSynced = () => {} }) {
    this.background = false
    this.onStatus = onStatus
    this.onSynced = onSynced
    this.provider.awareness.setLocalState({})
    this.setWritable(writable)
    onStatus(this.status)
    if (this.provider.synced) onSynced()
  }

  /** Stop syncing; resolves once the browser's copy is closed (it stays stored). */
  destroy () {
    if (this.destroyed) return Promise.resolve()
    this.destroyed = true
    return this.close()
  }

  close () {
    clearTimeout(this.requestTimer)
    open.delete(this)
    if (finishing.get(this.key) === this) finishing.delete(this.key)
    this.provider.destroy()
    const closed = this.persistence ? this.persistence.destroy() : Promise.resolve()
    this.ydoc.destroy()
    changed()
    return closed
  }
}
