// Node side of the convergence fuzzer (tests/convergence).
//
// Hosts real `yjs` + `y-websocket` clients that make random edits with a seeded PRNG
// and whose sockets deliver what the provider sends late, out of order and sometimes
// twice. Driven by tests/convergence/node.py over newline-delimited JSON:
//   stdin  -> commands {"op": ..., "seq": N, "id": ..., ...}
//   stdout <- events   {"event": "reply", "seq": N, ...} answers each command (with
//             "error" when it failed); {"event": "content", ...} reports a watched
//             client's content after each change; {"event": "closed", ...} a close
//             the server initiated.
// Nothing but events is written to stdout; diagnostics go to stderr.

import { createInterface } from 'node:readline'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

console.log = console.error
console.info = console.error
console.debug = console.error

/** @param {Record<string, unknown>} event */
// Frames each client keeps a copy of (the last ones sent).
const MAX_SENT = 5000

const emit = (event) => {
  process.stdout.write(JSON.stringify(event) + '\n')
}

/** A seeded PRNG (mulberry32): the same seed gives the same decisions. */
const prng = (seed) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** @param {() => number} rng @param {number} lo @param {number} hi inclusive */
const randInt = (rng, lo, hi) => lo + Math.floor(rng() * (hi - lo + 1))
/** @template T @param {() => number} rng @param {T[]} items @returns {T} */
const pick = (rng, items) => items[Math.floor(rng() * items.length)]

// BMP characters only: a JavaScript index never falls inside one of them, and pycrdt
// (which counts UTF-8 bytes) inserts at the same character boundaries.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz ABCDE.éüß中'

const randomString = (rng) => {
  let out = ''
  const length = randInt(rng, 1, 6)
  for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(rng() * ALPHABET.length)]
  return out
}

/** A mark to set or clear: {bold: true}, {italic: null}, ... */
const randomMark = (rng) => ({ [pick(rng, ['bold', 'italic'])]: rng() < 0.7 ? true : null })

// ----------------------------------------------------------------- content
//
// The canonical form both sides compute (tests/convergence/content.py): the fragment as
// a list of nodes, an element {name, attrs, children}, a text {text: delta}; a delta is
// a list of [insert, attributes] with null attributes left out and neighbours with the
// same attributes merged.

const sortedObject = (object) => {
  const out = {}
  for (const key of Object.keys(object).sort()) {
    if (object[key] !== null && object[key] !== undefined) out[key] = object[key]
  }
  return out
}

/** @param {Y.Text} ytext */
const deltaOf = (ytext) => {
  const out = []
  for (const op of ytext.toDelta()) {
    const attrs = sortedObject(op.attributes ?? {})
    const insert = typeof op.insert === 'string' ? op.insert : { embed: String(op.insert) }
    const last = out[out.length - 1]
    if (
      typeof insert === 'string' && last !== undefined && typeof last[0] === 'string' &&
      JSON.stringify(last[1]) === JSON.stringify(attrs)
    ) {
      last[0] += insert
    } else if (insert !== '') {
      out.push([insert, attrs])
    }
  }
  return out
}

const treeOf = (node) => {
  if (node instanceof Y.XmlText) return { text: deltaOf(node) }
  if (node instanceof Y.XmlElement) {
    return {
      name: node.nodeName,
      attrs: sortedObject(node.getAttributes()),
      children: node.toArray().map(treeOf)
    }
  }
  return { other: String(node) }
}

/** @param {Y.Doc} doc */
const contentOf = (doc) => ({
  default: doc.getXmlFragment('default').toArray().map(treeOf),
  text: deltaOf(doc.getText('text'))
})

/** What the document waits for: structs and deletions whose dependencies are missing. */
const pendingOf = (doc) => {
  const pending = doc.store.pendingStructs
  return {
    missing: pending === null ? {} : Object.fromEntries(pending.missing),
    deletions: doc.store.pendingDs !== null
  }
}

/** @param {Client} client */
const snapshot = (client) => ({
  content: contentOf(client.doc),
  xml: client.doc.getXmlFragment('default').toString(),
  stateVector: Buffer.from(Y.encodeStateVector(client.doc)).toString('base64'),
  pending: pendingOf(client.doc)
})

// ------------------------------------------------------------------ clients

/**
 * @typedef {{
 *   id: string, doc: Y.Doc, provider: WebsocketProvider, rng: () => number,
 *   undo: Y.UndoManager | null, delivery: {maxDelay: number, dupRate: number, immediate: boolean},
 *   held: Set<any>, stats: Record<string, number>, ops: Record<string, number>,
 *   watching: boolean, reportScheduled: boolean, expectClose: boolean, server: string
 * }} Client
 */

/** @type {Map<string, Client>} */
const clients = new Map()

/** @param {string} id */
const getClient = (id) => {
  const client = clients.get(id)
  if (client === undefined) throw new Error(`unknown client ${JSON.stringify(id)}`)
  return client
}

/**
 * A `ws` WebSocket that holds every frame the provider sends for a random time (so
 * frames leave out of order), sends some twice, and counts what it did. Frames still
 * held when the socket closes are lost, as they would be on a network: the next
 * connection's handshake carries what the server lacks.
 * @param {Client} client
 */
const faultySocket = (client) => class FaultySocket extends WebSocket {
  constructor (...args) {
    super(...args)
    this.nextSeq = 0
    this.highestSent = -1
  }

  send (data) {
    const seq = this.nextSeq++
    const delivery = client.delivery
    if (delivery.immediate) {
      this.deliver({ seq, data, duplicate: false })
      return
    }
    const copies = client.rng() < delivery.dupRate ? 2 : 1
    for (let copy = 0; copy < copies; copy++) {
      const entry = { seq, data, duplicate: copy > 0, socket: this, timer: null }
      entry.timer = setTimeout(() => {
        client.held.delete(entry)
        this.deliver(entry)
      }, client.rng() * delivery.maxDelay)
      client.held.add(entry)
    }
  }

  deliver (entry) {
    if (this.readyState !== WebSocket.OPEN) {
      client.stats.lost++
      return
    }
    if (entry.seq < this.highestSent) client.stats.reorders++
    this.highestSent = Math.max(this.highestSent, entry.seq)
    if (entry.duplicate) client.stats.duplicates++
    client.stats.frames++
    client.sent.push(Buffer.from(entry.data).toString('base64'))
    if (client.sent.length > MAX_SENT) client.sent.shift()
    super.send(entry.data)
  }
}

/** Report the client's content once the current burst of updates is over. */
const scheduleReport = (client) => {
  if (!client.watching || client.reportScheduled) return
  client.reportScheduled = true
  setImmediate(() => {
    client.reportScheduled = false
    if (clients.get(client.id) === client) emit({ event: 'content', id: client.id, ...snapshot(client) })
  })
}

/** @param {any} cmd */
const open = (cmd) => {
  if (clients.has(cmd.id)) throw new Error(`client ${cmd.id} exists`)
  const doc = new Y.Doc()
  const faulty = cmd.faulty !== false
  /** @type {Client} */
  const client = {
    id: cmd.id,
    doc,
    provider: /** @type {any} */ (null),
    rng: prng(cmd.seed ?? 1),
    undo: null,
    delivery: {
      maxDelay: cmd.maxDelay ?? 0,
      dupRate: cmd.dupRate ?? 0,
      immediate: !faulty
    },
    held: new Set(),
    // The frames it sent (the last MAX_SENT), for a diverging case's artifacts.
    sent: [],
    stats: { frames: 0, reorders: 0, duplicates: 0, lost: 0, reconnects: 0, drops: 0, retries: 0 },
    ops: {},
    watching: cmd.watch === true,
    reportScheduled: false,
    expectClose: false,
    server: cmd.server
  }
  if (cmd.edits !== false) {
    // Tracks the client's own edits only (origin null); the provider applies remote
    // updates with itself as origin.
    client.undo = new Y.UndoManager([doc.getXmlFragment('default'), doc.getText('text')], {
      captureTimeout: cmd.captureTimeout ?? 0
    })
  }
  const provider = new WebsocketProvider(cmd.server, cmd.doc, doc, {
    WebSocketPolyfill: faulty ? faultySocket(client) : WebSocket,
    params: { token: String(cmd.token) },
    disableBc: true,
    connect: false
  })
  client.provider = provider
  clients.set(cmd.id, client)
  doc.on('update', () => scheduleReport(client))
  provider.on('sync', (synced) => {
    if (synced) emit({ event: 'synced', id: client.id })
  })
  provider.on('connection-close', (event) => {
    if (event == null) return // closed on purpose (disconnect)
    if (client.expectClose) {
      client.expectClose = false
      return
    }
    // The server closed it (or the connection failed): y-websocket reconnects.
    if (event.code === 1013) client.stats.retries++
    emit({ event: 'closed', id: client.id, code: event.code, reason: String(event.reason ?? '') })
  })
  provider.connect()
}

// ------------------------------------------------------------------ editing

/** Every XmlText of the fragment, depth first. */
const xmlTexts = (node, out = []) => {
  for (const child of node.toArray()) {
    if (child instanceof Y.XmlText) out.push(child)
    else if (child instanceof Y.XmlElement) xmlTexts(child, out)
  }
  return out
}

const paragraph = (rng) => {
  const element = new Y.XmlElement('paragraph')
  element.insert(0, [new Y.XmlText(randomString(rng))])
  return element
}

const listItem = (rng) => {
  const item = new Y.XmlElement('listItem')
  item.insert(0, [paragraph(rng)])
  return item
}

const randomBlock = (rng) => {
  const kind = pick(rng, ['paragraph', 'paragraph', 'heading', 'bulletList'])
  if (kind === 'paragraph') return paragraph(rng)
  if (kind === 'heading') {
    const heading = new Y.XmlElement('heading')
    heading.setAttribute('level', randInt(rng, 1, 3))
    heading.insert(0, [new Y.XmlText(randomString(rng))])
    return heading
  }
  const list = new Y.XmlElement('bulletList')
  const items = []
  for (let i = randInt(rng, 1, 2); i > 0; i--) items.push(listItem(rng))
  list.insert(0, items)
  return list
}

/** Insert, delete or format characters of a text (the root Y.Text or an XmlText). */
const editText = (rng, text, kind) => {
  const length = text.length
  if (kind === 'insert' || length === 0) {
    const attrs = rng() < 0.2 ? randomMark(rng) : undefined
    text.insert(randInt(rng, 0, length), randomString(rng), attrs)
    return 'insert'
  }
  const index = randInt(rng, 0, length - 1)
  const span = randInt(rng, 1, Math.min(6, length - index))
  if (kind === 'delete') text.delete(index, span)
  else text.format(index, span, randomMark(rng))
  return kind
}

// Operation weights; tests/convergence/editing.py uses the same.
const OPERATIONS = [
  ['text.insert', 10], ['text.delete', 5], ['text.format', 4],
  ['xml.insert', 12], ['xml.delete', 6], ['xml.format', 5],
  ['block.insert', 5], ['block.delete', 3], ['item.insert', 3], ['item.delete', 2],
  ['undo', 4]
]
const TOTAL_WEIGHT = OPERATIONS.reduce((sum, [, weight]) => sum + weight, 0)

const chooseOperation = (rng) => {
  let roll = rng() * TOTAL_WEIGHT
  for (const [name, weight] of OPERATIONS) {
    roll -= weight
    if (roll < 0) return name
  }
  return OPERATIONS[0][0]
}

/** One random operation; returns the name of what was done. @param {Client} client */
const randomOperation = (client) => {
  const { rng, doc } = client
  const fragment = doc.getXmlFragment('default')
  const op = chooseOperation(rng)
  const [area, kind] = op.split('.')
  if (op === 'undo') {
    return client.undo !== null && client.undo.undo() !== null ? 'undo' : 'undo.none'
  }
  if (area === 'text') {
    return 'text.' + editText(rng, doc.getText('text'), kind)
  }
  if (area === 'xml') {
    const texts = xmlTexts(fragment)
    if (texts.length > 0) return 'xml.' + editText(rng, pick(rng, texts), kind)
    fragment.insert(randInt(rng, 0, fragment.length), [randomBlock(rng)])
    return 'block.insert'
  }
  const lists = fragment.toArray().filter(
    (child) => child instanceof Y.XmlElement && child.nodeName === 'bulletList'
  )
  if (op === 'item.insert' && lists.length > 0) {
    const list = pick(rng, lists)
    list.insert(randInt(rng, 0, list.length), [listItem(rng)])
    return op
  }
  if (op === 'item.delete' && lists.some((list) => list.length > 0)) {
    const list = pick(rng, lists.filter((candidate) => candidate.length > 0))
    list.delete(randInt(rng, 0, list.length - 1), 1)
    return op
  }
  if (op === 'block.delete' && fragment.length > 0) {
    fragment.delete(randInt(rng, 0, fragment.length - 1), 1)
    return op
  }
  fragment.insert(randInt(rng, 0, fragment.length), [randomBlock(rng)])
  return 'block.insert'
}

// ------------------------------------------------------------------ commands

/** @param {Client} client */
const flushHeld = (client) => {
  const entries = Array.from(client.held)
  client.held.clear()
  // Still out of order: shuffled.
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(client.rng() * (i + 1))
    ;[entries[i], entries[j]] = [entries[j], entries[i]]
  }
  for (const entry of entries) {
    clearTimeout(entry.timer)
    entry.socket.deliver(entry)
  }
}

/** @param {any} cmd */
const execute = (cmd) => {
  switch (cmd.op) {
    case 'open':
      open(cmd)
      return {}
    case 'edit': {
      const client = getClient(cmd.id)
      const done = []
      for (let i = 0; i < cmd.count; i++) {
        const name = randomOperation(client)
        client.ops[name] = (client.ops[name] ?? 0) + 1
        done.push(name)
      }
      return { done }
    }
    case 'offline': {
      // A clean close; edits go on offline.
      getClient(cmd.id).provider.disconnect()
      return {}
    }
    case 'online': {
      // Back, to the server named (the other process, or the same one).
      const client = getClient(cmd.id)
      const { provider } = client
      if (provider.shouldConnect && provider.serverUrl === cmd.server) return {}
      provider.disconnect()
      provider.serverUrl = cmd.server
      client.server = cmd.server
      client.stats.reconnects++
      provider.connect()
      return {}
    }
    case 'drop': {
      // The connection breaks without a close frame; y-websocket reconnects by itself.
      const client = getClient(cmd.id)
      const ws = client.provider.ws
      if (ws !== null && ws.readyState === WebSocket.OPEN) {
        client.expectClose = true
        client.stats.drops++
        client.stats.reconnects++
        ws.terminate()
      }
      return {}
    }
    case 'settle': {
      // Editing is over: deliver what is held, send at once from now on, be online, and
      // report the content on every change.
      const client = getClient(cmd.id)
      client.delivery.immediate = true
      flushHeld(client)
      if (!client.provider.shouldConnect) {
        client.provider.serverUrl = cmd.server
        client.stats.reconnects++
        client.provider.connect()
      }
      client.watching = true
      scheduleReport(client)
      return {}
    }
    case 'content': {
      // With the whole document as one update, for a diverging case's artifacts.
      const client = getClient(cmd.id)
      return { ...snapshot(client), update: Buffer.from(Y.encodeStateAsUpdate(client.doc)).toString('base64') }
    }
    case 'sent': {
      // The frames it sent, oldest first, for a diverging case's artifacts.
      return { frames: getClient(cmd.id).sent }
    }
    case 'close': {
      const client = getClient(cmd.id)
      for (const entry of client.held) clearTimeout(entry.timer)
      client.held.clear()
      clients.delete(client.id)
      client.provider.destroy()
      client.undo?.destroy()
      client.doc.destroy()
      return { stats: client.stats, ops: client.ops }
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(cmd.op)}`)
  }
}

const shutdown = () => {
  for (const client of clients.values()) {
    try {
      for (const entry of client.held) clearTimeout(entry.timer)
      client.provider.destroy()
      client.doc.destroy()
    } catch (err) {
      console.error('[convergence] error while closing', client.id, err)
    }
  }
  clients.clear()
  process.stdout.write('', () => process.exit(0))
}

/** @param {string} line */
const handleLine = (line) => {
  if (line.trim() === '') return
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch (err) {
    emit({ event: 'error', message: `invalid JSON: ${err.message}` })
    return
  }
  if (cmd.op === 'exit') {
    shutdown()
    return
  }
  try {
    emit({ event: 'reply', seq: cmd.seq, ...execute(cmd) })
  } catch (err) {
    console.error('[convergence] command failed:', line, err)
    emit({ event: 'reply', seq: cmd.seq, error: err instanceof Error ? err.message : String(err) })
  }
}

process.on('uncaughtException', (err) => {
  console.error('[convergence] uncaught exception:', err)
  emit({ event: 'error', message: `uncaught exception: ${err && err.message ? err.message : String(err)}` })
})
process.on('unhandledRejection', (err) => {
  console.error('[convergence] unhandled rejection:', err)
  emit({ event: 'error', message: `unhandled rejection: ${String(err)}` })
})
process.stdout.on('error', () => process.exit(0))

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false })
lines.on('line', handleLine)
lines.on('close', shutdown)

emit({ event: 'ready', pid: process.pid })
