// Benchmark clients: the y-websocket protocol (Roundtable, @y/websocket-server) and
// Hocuspocus's framing (every message prefixed with the document name, an Auth
// message first). Messages are built with lib0 and y-protocols, as real providers do.

import WebSocket from 'ws'
import { performance } from 'node:perf_hooks'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'

const MESSAGE_SYNC = 0
const MESSAGE_AWARENESS = 1
const MESSAGE_AUTH = 2
const HOCUSPOCUS_SYNC_REPLY = 4
const HOCUSPOCUS_AUTH_TOKEN = 0
const HOCUSPOCUS_AUTHENTICATED = 2
const HOCUSPOCUS_PERMISSION_DENIED = 0

const TILDE = 0x7e
const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39

/** Where one server is reached and how it frames messages. */
export class Target {
  /**
   * @param {{protocol: 'y-websocket'|'hocuspocus', urls: string[], query?: string,
   *          firstJoinAlone?: boolean}} spec
   */
  constructor (spec) {
    this.protocol = spec.protocol
    this.urls = spec.urls
    this.query = spec.query ?? ''
    // Open each document with one client before the others join (see loadgen's connectAll).
    this.firstJoinAlone = spec.firstJoinAlone ?? false
  }

  /** The socket URL for document `name`, on server `index` (modulo the number of servers). */
  url (name, index) {
    const base = this.urls[index % this.urls.length]
    if (this.protocol === 'hocuspocus') return base
    return `${base}/${encodeURIComponent(name)}${this.query}`
  }
}

/**
 * One connection to one document. `onMarkers(client, markers, bytes)` is called for every
 * update received after the initial sync, with the `[writer, seq]` markers found in it.
 * With `keepDoc` the client applies what it receives to its own Y.Doc, as an editor does;
 * without, it only scans the bytes (so that many readers cost the generator little).
 */
export class Client {
  constructor (target, name, index, { keepDoc = false, onMarkers = null, applyInitial = true } = {}) {
    this.target = target
    this.name = name
    this.index = index
    this.keepDoc = keepDoc
    this.onMarkers = onMarkers
    // Without applyInitial the server's first state is kept as bytes, not decoded, so a
    // join is timed up to its arrival and not through the generator's own decoding.
    this.applyInitial = applyInitial
    this.initialState = null
    this.doc = new Y.Doc()
    this.awareness = null
    this.bytesIn = 0
    this.updatesIn = 0
    this.synced = false
    this.openedAt = null
    this._message = 0
    this.deliveryRows = null
    this.closed = false
    this.closeCode = null
    this.errors = []
    this._syncWaiters = []
    this.doc.on('update', (update, origin) => {
      if (origin !== this && this.synced) this.sendUpdate(update)
    })
  }

  /** Open the socket and resolve once the server's state has arrived (SyncStep2). */
  connect (timeoutMs = 30000) {
    const ws = new WebSocket(this.target.url(this.name, this.index), { perMessageDeflate: false, skipUTF8Validation: true })
    ws.binaryType = 'nodebuffer'
    this.ws = ws
    ws.on('message', (data) => this._receive(data))
    ws.on('error', (error) => this.errors.push(String(error.message ?? error)))
    ws.on('close', (code) => {
      this.closed = true
      this.closeCode = code
      for (const waiter of this._syncWaiters) waiter.reject(new Error(`closed with ${code}`))
      this._syncWaiters = []
    })
    ws.on('open', () => {
      this.openedAt = performance.now()
      if (this.target.protocol === 'hocuspocus') {
        const auth = this._encoder(MESSAGE_AUTH)
        encoding.writeVarUint(auth, HOCUSPOCUS_AUTH_TOKEN)
        encoding.writeVarString(auth, '')
        this._send(auth)
      }
      const step1 = this._encoder(MESSAGE_SYNC)
      syncProtocol.writeSyncStep1(step1, this.doc)
      this._send(step1)
    })
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sync of ${this.name} timed out`)), timeoutMs)
      this._syncWaiters.push({
        resolve: () => { clearTimeout(timer); resolve(this) },
        reject: (error) => { clearTimeout(timer); reject(error) }
      })
    })
  }

  /** Insert `text` at `position` in the shared text (sent as one update). */
  insert (position, text) {
    const ytext = this.doc.getText('bench')
    ytext.insert(Math.min(position, ytext.length), text)
  }

  get text () {
    return this.doc.getText('bench').toString()
  }

  sendUpdate (update) {
    const encoder = this._encoder(MESSAGE_SYNC)
    syncProtocol.writeUpdate(encoder, update)
    this._send(encoder)
  }

  /** Announce a cursor position through awareness, as editors do while typing. */
  sendAwareness (position) {
    if (this.awareness === null) this.awareness = new awarenessProtocol.Awareness(this.doc)
    this.awareness.setLocalState({ user: { name: `bench ${this.doc.clientID}` }, cursor: { anchor: position, head: position } })
    const encoder = this._encoder(MESSAGE_AWARENESS)
    encoding.writeVarUint8Array(
      encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.doc.clientID])
    )
    this._send(encoder)
  }

  close () {
    if (this.awareness !== null) this.awareness.destroy()
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close()
  }

  /** Wait until the socket is closed (after `close()`), for a clean shutdown. */
  closedPromise (timeoutMs = 5000) {
    if (this.closed || !this.ws) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      this.ws.once('close', () => { clearTimeout(timer); resolve() })
    })
  }

  get buffered () {
    return this.ws ? this.ws.bufferedAmount : 0
  }

  _encoder (type) {
    const encoder = encoding.createEncoder()
    if (this.target.protocol === 'hocuspocus') encoding.writeVarString(encoder, this.name)
    encoding.writeVarUint(encoder, type)
    return encoder
  }

  _send (encoder) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encoding.toUint8Array(encoder))
  }

  _receive (data) {
    this.bytesIn += data.length
    this._message = data.length
    // The common case of a reader, without a decoder: a y-websocket sync update.
    if (this.synced && !this.keepDoc && this.target.protocol === 'y-websocket' &&
        data[0] === MESSAGE_SYNC && data[1] === syncProtocol.messageYjsUpdate) {
      this.updatesIn += 1
      if (this.onMarkers !== null) this.onMarkers(this, scanMarkers(data), data.length)
      return
    }
    const decoder = decoding.createDecoder(data)
    if (this.target.protocol === 'hocuspocus') decoding.readVarString(decoder)
    const type = decoding.readVarUint(decoder)
    if (type === MESSAGE_SYNC || type === HOCUSPOCUS_SYNC_REPLY) {
      this._receiveSync(decoder)
    } else if (type === MESSAGE_AUTH && this.target.protocol === 'hocuspocus') {
      const kind = decoding.readVarUint(decoder)
      if (kind === HOCUSPOCUS_PERMISSION_DENIED) this.errors.push('permission denied')
      else if (kind !== HOCUSPOCUS_AUTHENTICATED) this.errors.push(`auth message ${kind}`)
    }
    // Awareness, Roundtable's notices and Hocuspocus's status messages are only counted.
  }

  _receiveSync (decoder) {
    const kind = decoding.readVarUint(decoder)
    if (kind === syncProtocol.messageYjsSyncStep1) {
      const state = decoding.readVarUint8Array(decoder)
      const reply = this._encoder(this.target.protocol === 'hocuspocus' ? HOCUSPOCUS_SYNC_REPLY : MESSAGE_SYNC)
      syncProtocol.writeSyncStep2(reply, this.doc, state)
      this._send(reply)
      return
    }
    const update = decoding.readVarUint8Array(decoder)
    if (!this.synced && !this.applyInitial) this.initialState = update
    else if (this.keepDoc || !this.synced) Y.applyUpdate(this.doc, update, this)
    if (kind === syncProtocol.messageYjsSyncStep2) {
      if (!this.synced) {
        this.synced = true
        for (const waiter of this._syncWaiters) waiter.resolve()
        this._syncWaiters = []
      }
      return
    }
    this.updatesIn += 1
    if (this.onMarkers !== null) this.onMarkers(this, scanMarkers(update), this._message)
  }
}

/** The `[writer, seq]` markers written into an update's inserted text. */
export function scanMarkers (update) {
  // A byte scan rather than a regular expression over a string: the generator reads
  // every message every reader receives, and must stay cheaper than the servers.
  const found = []
  const end = update.length
  let i = update.indexOf(TILDE)
  while (i !== -1 && i < end) {
    let j = i + 1
    let writer = 0
    let digits = 0
    while (j < end && update[j] >= ZERO && update[j] <= NINE) { writer = writer * 10 + update[j] - ZERO; j++; digits++ }
    if (digits > 0 && j < end && update[j] === DOT) {
      j++
      let seq = 0
      digits = 0
      while (j < end && update[j] >= ZERO && update[j] <= NINE) { seq = seq * 10 + update[j] - ZERO; j++; digits++ }
      if (digits > 0 && j < end && update[j] === TILDE) {
        found.push([writer, seq])
        i = update.indexOf(TILDE, j + 1)
        continue
      }
    }
    i = update.indexOf(TILDE, i + 1)
  }
  return found
}

export function marker (writer, seq) {
  return `~${writer}.${seq}~`
}
