// Roundtable interop puppet.
//
// A long-running Node process that hosts any number of real `yjs` +
// `y-websocket` clients and is driven by Python tests (see node_client.py).
//
// Protocol: newline-delimited JSON.
//   stdin  -> commands  {"op": ..., "id": ..., "seq": N?, ...}
//   stdout <- events    {"event": ..., "id": ..., ...}
// Nothing but events is ever written to stdout; diagnostics go to stderr.
// Every command is answered with {"event":"ack","op":...,"id":...,"seq":...}
// once it has been executed (an "error" event precedes the ack of a failed
// command, and that ack carries an "error" field).

import { createInterface } from 'node:readline'
import * as Y from 'yjs'
import { WebsocketProvider, messageAuth } from 'y-websocket'
import * as authProtocol from 'y-protocols/auth'
import WebSocket from 'ws'

// Libraries must never pollute the event stream.
console.log = console.error
console.info = console.error
console.debug = console.error

/** @param {Record<string, unknown>} event */
const emit = (event) => {
  process.stdout.write(JSON.stringify(event) + '\n')
}

const diag = (...args) => {
  console.error('[puppet]', ...args)
}

/**
 * @typedef {{
 *   id: string,
 *   doc: Y.Doc,
 *   provider: WebsocketProvider,
 *   onUpdate: () => void,
 * }} Client
 */

/** @type {Map<string, Client>} */
const clients = new Map()

/** @param {string} id */
const getClient = (id) => {
  const client = clients.get(id)
  if (client === undefined) {
    throw new Error(`unknown client id ${JSON.stringify(id)}`)
  }
  return client
}

/** @param {Y.Doc} ydoc */
const textOf = (ydoc) => ydoc.getText('text').toString()

/** @param {Client} client */
const remoteAwarenessStates = (client) => {
  const own = client.doc.clientID
  const states = []
  for (const [clientID, state] of client.provider.awareness.getStates()) {
    if (clientID !== own) {
      states.push({ clientID, state })
    }
  }
  states.sort((a, b) => a.clientID - b.clientID)
  return states
}

/** @param {any} cmd */
const connect = (cmd) => {
  const id = cmd.id
  if (typeof id !== 'string' || id.length === 0) {
    throw new Error('connect: "id" must be a non-empty string')
  }
  if (clients.has(id)) {
    throw new Error(`connect: client ${JSON.stringify(id)} already exists (destroy it first)`)
  }
  if (typeof cmd.server !== 'string' || typeof cmd.doc !== 'string') {
    throw new Error('connect: "server" and "doc" must be strings')
  }
  const ydoc = new Y.Doc()
  /** @type {Record<string, string>} */
  const params = {}
  if (cmd.token !== undefined && cmd.token !== null) {
    params.token = String(cmd.token)
  }
  // connect: false so that every listener (and the auth hook) is installed
  // before the first socket is opened.
  const provider = new WebsocketProvider(cmd.server, cmd.doc, ydoc, {
    WebSocketPolyfill: WebSocket,
    params,
    disableBc: true,
    connect: false
  })

  const onUpdate = () => {
    emit({ event: 'text', id, text: textOf(ydoc) })
  }
  ydoc.on('update', onUpdate)

  /** @type {Client} */
  const client = { id, doc: ydoc, provider, onUpdate }
  clients.set(id, client)

  provider.on('status', ({ status }) => {
    emit({ event: 'status', id, status })
  })
  provider.on('sync', (isSynced) => {
    if (isSynced) {
      emit({ event: 'synced', id })
      emit({ event: 'text', id, text: textOf(ydoc) })
    }
  })
  provider.on('connection-close', (event) => {
    if (event == null) {
      // Closed locally: provider.disconnect()/destroy() or the 30 s
      // "no message received" watchdog.
      emit({ event: 'close', id, code: null, reason: '', local: true })
    } else {
      emit({
        event: 'close',
        id,
        code: event.code,
        reason: event.reason == null ? '' : String(event.reason),
        local: false
      })
    }
  })
  // y-websocket >= 3.1: emitted when shouldReconnect() said no (by default
  // close codes 4400-4499). The provider will not reconnect by itself.
  provider.on('closed', ({ code, reason }) => {
    emit({ event: 'closed', id, code, reason: reason == null ? '' : String(reason) })
  })
  provider.on('connection-error', (event) => {
    const message = event && (event.message || (event.error && event.error.message))
    emit({ event: 'connection-error', id, message: message ? String(message) : String(event && event.type) })
  })

  // Auth messages (type 2). The stock handler funnels "permission denied"
  // into a module-level function that only console.warns, so replace the
  // per-instance handler (provider.messageHandlers is a per-provider copy).
  provider.messageHandlers[messageAuth] = (_encoder, decoder, prov, _emitSynced, _messageType) => {
    authProtocol.readAuthMessage(decoder, prov.doc, (_ydoc, reason) => {
      diag(`client ${id}: permission denied for ${prov.url}: ${reason}`)
      emit({ event: 'permission-denied', id, reason })
    })
  }

  provider.awareness.on('change', () => {
    emit({ event: 'awareness', id, states: remoteAwarenessStates(client) })
  })

  if (cmd.user !== undefined && cmd.user !== null) {
    provider.awareness.setLocalStateField('user', cmd.user)
  }

  provider.connect()
}

/** @param {Client} client */
const destroyClient = (client) => {
  clients.delete(client.id)
  client.provider.destroy()
  client.doc.off('update', client.onUpdate)
  // Also destroys the Awareness instance (it listens for the doc's destroy).
  client.doc.destroy()
}

const destroyAll = () => {
  for (const client of Array.from(clients.values())) {
    try {
      destroyClient(client)
    } catch (err) {
      diag('error while destroying', client.id, err)
    }
  }
}


// ---------------------------------------------------------------- rich text
//
// TipTap-style content: the XmlFragment 'default' holds XmlElement 'paragraph's,
// each holding one XmlText. Paragraphs are addressed by their index in the fragment.

/** @param {Y.Doc} ydoc @param {string} [name] */
const fragmentOf = (ydoc, name) => ydoc.getXmlFragment(name === undefined ? 'default' : String(name))

/** @param {Y.XmlElement | Y.XmlText | Y.XmlHook} node */
const plainText = (node) => {
  if (node instanceof Y.XmlText) return node.toString()
  if (node instanceof Y.XmlElement) {
    return node.toArray().map((child) => plainText(child)).join('')
  }
  return ''
}

/** The XmlText of paragraph number `index` (a non-negative integer). */
const paragraphText = (ydoc, index, fragmentName) => {
  const fragment = fragmentOf(ydoc, fragmentName)
  if (!Number.isInteger(index) || index < 0 || index >= fragment.length) {
    throw new Error(`no paragraph ${JSON.stringify(index)} (the fragment has ${fragment.length})`)
  }
  const paragraph = fragment.get(index)
  if (!(paragraph instanceof Y.XmlElement)) {
    throw new Error(`fragment child ${index} is not an element`)
  }
  const text = paragraph.toArray().find((child) => child instanceof Y.XmlText)
  if (text === undefined) {
    throw new Error(`paragraph ${index} holds no XmlText`)
  }
  return text
}

/** @param {Y.Doc} ydoc */
const xmlSnapshot = (ydoc) => {
  const fragment = fragmentOf(ydoc)
  return {
    xml: fragment.toString(),
    paragraphs: fragment.toArray().map((child) => plainText(child)),
    stateVector: Buffer.from(Y.encodeStateVector(ydoc)).toString('base64')
  }
}

/** Clients whose every update is reported as an 'xml' event (see the watchXml op). */
const xmlWatchers = new Set()

/** @param {Client} client */
const watchXml = (client) => {
  if (xmlWatchers.has(client.id)) return
  xmlWatchers.add(client.id)
  const id = client.id
  const ydoc = client.doc
  const report = () => {
    if (clients.get(id)?.doc === ydoc) {
      emit({ event: 'xml', id, ...xmlSnapshot(ydoc) })
    }
  }
  ydoc.on('update', report)
  ydoc.on('destroy', () => {
    ydoc.off('update', report)
    xmlWatchers.delete(id)
  })
  report()
}

/**
 * Where an absolute position lies: the paragraph whose XmlText holds it (or null when
 * it lies elsewhere), and whether it is in the content fragment itself.
 * @param {Y.Doc} ydoc @param {Y.AbstractType<any>} type
 */
const locate = (ydoc, type) => {
  const fragment = fragmentOf(ydoc)
  if (type === fragment) return { paragraph: null, inFragment: true }
  const children = fragment.toArray()
  for (let i = 0; i < children.length; i++) {
    const child = children[i]
    if (child instanceof Y.XmlElement && child.toArray().includes(type)) {
      return { paragraph: i, inFragment: false }
    }
  }
  return { paragraph: null, inFragment: false }
}

// ------------------------------------------------------------ rich content
//
// Used by the version and export tests. A node as JSON: an element is
// {name, attrs?, children?}; a text is {text: delta}, the delta as Y.XmlText.toDelta()
// gives it ([{insert, attributes?}]). A path is the list of child indices from the
// 'default' fragment down to a node ([] is the fragment itself).

/** @param {any} spec @returns {Y.XmlElement | Y.XmlText} */
const buildNode = (spec) => {
  if (spec !== null && typeof spec === 'object' && Array.isArray(spec.text)) {
    const text = new Y.XmlText()
    text.applyDelta(spec.text) // queued until the text is integrated
    return text
  }
  if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string') {
    throw new Error(`not a node: ${JSON.stringify(spec)}`)
  }
  const element = new Y.XmlElement(spec.name)
  for (const [key, value] of Object.entries(spec.attrs ?? {})) element.setAttribute(key, value)
  element.insert(0, (spec.children ?? []).map(buildNode))
  return element
}

/** @param {Y.Doc} ydoc @param {unknown} path */
const nodeAt = (ydoc, path) => {
  if (!Array.isArray(path)) throw new Error(`path must be an array, not ${JSON.stringify(path)}`)
  /** @type {any} */
  let node = fragmentOf(ydoc)
  for (const index of path) {
    const child = node instanceof Y.XmlText ? undefined : node.get(index)
    if (child === undefined) throw new Error(`no node at path ${JSON.stringify(path)}`)
    node = child
  }
  return node
}

/** The JSON form of a node (see above); the fragment is {name: null, children}. @param {any} node */
const treeOf = (node) => {
  if (node instanceof Y.XmlText) return { text: node.toDelta() }
  if (node instanceof Y.XmlElement) {
    return { name: node.nodeName, attrs: node.getAttributes(), children: node.toArray().map(treeOf) }
  }
  if (node instanceof Y.XmlFragment) return { name: null, children: node.toArray().map(treeOf) }
  return { other: String(node) }
}

/** Apply edit actions in one transaction. @param {Y.Doc} ydoc @param {any[]} actions */
const xmlEdit = (ydoc, actions) => {
  if (!Array.isArray(actions)) throw new Error('xmlEdit: "actions" must be an array')
  ydoc.transact(() => {
    for (const action of actions) {
      const node = nodeAt(ydoc, action.path ?? [])
      const isText = node instanceof Y.XmlText
      switch (action.do) {
        case 'insertNodes': // {index?, nodes}: into an element or the fragment
          if (isText) throw new Error('insertNodes: the path names a text')
          node.insert(action.index ?? node.length, action.nodes.map(buildNode))
          break
        case 'delete': // {index, length?}: children of an element, or characters of a text
          node.delete(action.index, action.length ?? 1)
          break
        case 'insertText': // {index, text, attributes?}
          if (!isText) throw new Error('insertText: the path does not name a text')
          node.insert(action.index, String(action.text), action.attributes)
          break
        case 'format': // {index, length, attributes} (a null value removes a mark)
          if (!isText) throw new Error('format: the path does not name a text')
          node.format(action.index, action.length, action.attributes)
          break
        case 'setAttribute': // {name, value}
          node.setAttribute(String(action.name), action.value)
          break
        case 'removeAttribute': // {name}
          node.removeAttribute(String(action.name))
          break
        default:
          throw new Error(`xmlEdit: unknown action ${JSON.stringify(action.do)}`)
      }
    }
  })
}

/** @param {any} cmd */
const execute = (cmd) => {
  switch (cmd.op) {
    case 'connect':
      connect(cmd)
      return
    case 'insert': {
      const { doc } = getClient(cmd.id)
      doc.getText('text').insert(cmd.index, String(cmd.text))
      return
    }
    case 'delete': {
      const { doc } = getClient(cmd.id)
      doc.getText('text').delete(cmd.index, cmd.length)
      return
    }
    case 'setAwareness': {
      const { provider } = getClient(cmd.id)
      provider.awareness.setLocalStateField(String(cmd.field), cmd.value === undefined ? null : cmd.value)
      return
    }
    case 'disconnect':
      getClient(cmd.id).provider.disconnect()
      return
    case 'reconnect':
      getClient(cmd.id).provider.connect()
      return
    case 'destroy':
      destroyClient(getClient(cmd.id))
      return
    case 'state': {
      const { doc } = getClient(cmd.id)
      emit({
        event: 'state',
        id: cmd.id,
        text: textOf(doc),
        xml: doc.getXmlFragment('default').toString(),
        update: Buffer.from(Y.encodeStateAsUpdate(doc)).toString('base64')
      })
      return
    }
    case 'xmlInsertParagraph': {
      const { doc } = getClient(cmd.id)
      const fragment = doc.getXmlFragment('default')
      doc.transact(() => {
        const paragraph = new Y.XmlElement('paragraph')
        paragraph.insert(0, [new Y.XmlText(String(cmd.text))])
        fragment.insert(fragment.length, [paragraph])
      })
      return
    }
    case 'watchXml':
      watchXml(getClient(cmd.id))
      return
    case 'xmlInsertParagraphAt': {
      const { doc } = getClient(cmd.id)
      const fragment = doc.getXmlFragment('default')
      doc.transact(() => {
        const paragraph = new Y.XmlElement('paragraph')
        paragraph.insert(0, [new Y.XmlText(String(cmd.text))])
        fragment.insert(cmd.index, [paragraph])
      })
      return
    }
    case 'xmlTextInsert': {
      const { doc } = getClient(cmd.id)
      paragraphText(doc, cmd.paragraph).insert(cmd.index, String(cmd.text))
      return
    }
    case 'xmlTextDelete': {
      const { doc } = getClient(cmd.id)
      paragraphText(doc, cmd.paragraph).delete(cmd.index, cmd.length)
      return
    }
    case 'relativePosition': {
      // Y.createRelativePositionFromTypeIndex on paragraph `paragraph`'s XmlText, or on
      // the fragment `fragment` (default 'default') itself when paragraph is null.
      const { doc } = getClient(cmd.id)
      const type = cmd.paragraph === null || cmd.paragraph === undefined
        ? fragmentOf(doc, cmd.fragment)
        : paragraphText(doc, cmd.paragraph, cmd.fragment)
      const rpos = Y.createRelativePositionFromTypeIndex(type, cmd.index, cmd.assoc ?? 0)
      emit({
        event: 'relativePosition',
        id: cmd.id,
        seq: cmd.seq ?? null,
        position: Buffer.from(Y.encodeRelativePosition(rpos)).toString('base64')
      })
      return
    }
    case 'resolvePosition': {
      // Y.createAbsolutePositionFromRelativePosition of a base64 encoded position.
      const { doc } = getClient(cmd.id)
      const rpos = Y.decodeRelativePosition(Buffer.from(String(cmd.position), 'base64'))
      const abs = Y.createAbsolutePositionFromRelativePosition(rpos, doc)
      const event = { event: 'absolutePosition', id: cmd.id, seq: cmd.seq ?? null, position: cmd.position }
      if (abs === null) {
        emit({ ...event, found: false, index: null, assoc: null, paragraph: null, inFragment: false, text: null })
      } else {
        emit({
          ...event,
          found: true,
          index: abs.index,
          assoc: abs.assoc,
          ...locate(doc, abs.type),
          text: abs.type instanceof Y.XmlText ? abs.type.toString() : null
        })
      }
      return
    }
    case 'batch': {
      // Several commands (of any clients) run in one synchronous turn: no client can
      // receive anything from the server in between, so every edit of the batch is
      // made on the state its client had before the batch (truly concurrent edits).
      if (!Array.isArray(cmd.ops)) {
        throw new Error('batch: "ops" must be an array of commands')
      }
      for (const sub of cmd.ops) {
        if (sub === null || typeof sub !== 'object' || sub.op === 'batch' || sub.op === 'exit') {
          throw new Error(`batch: invalid command ${JSON.stringify(sub)}`)
        }
      }
      for (const sub of cmd.ops) {
        execute(sub)
      }
      return
    }
    case 'xmlEdit':
      xmlEdit(getClient(cmd.id).doc, cmd.actions)
      return
    case 'trackUndo': {
      // A Y.UndoManager on the 'default' fragment: each later local transaction is
      // one step (remote updates, applied by the provider, are not tracked).
      const client = getClient(cmd.id)
      client.undo = new Y.UndoManager(fragmentOf(client.doc), { captureTimeout: 0 })
      return
    }
    case 'undo': {
      const { undo } = getClient(cmd.id)
      if (!undo) throw new Error('undo: trackUndo first')
      if (undo.undo() === null) throw new Error('undo: nothing to undo')
      return
    }
    case 'xmlDump': {
      // The 'default' fragment: toString(), toJSON() and the JSON tree (see treeOf).
      const fragment = fragmentOf(getClient(cmd.id).doc)
      emit({
        event: 'xmlDump',
        id: cmd.id,
        seq: cmd.seq ?? null,
        xml: fragment.toString(),
        json: fragment.toJSON(),
        tree: treeOf(fragment)
      })
      return
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(cmd.op)}`)
  }
}

let exiting = false

/** @param {number} code */
const shutdown = (code) => {
  if (exiting) return
  exiting = true
  destroyAll()
  // Make sure everything queued on stdout is flushed before exiting.
  process.stdout.write('', () => process.exit(code))
}

/** @param {string} line */
const handleLine = (line) => {
  if (line.trim().length === 0) return
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch (err) {
    emit({ event: 'error', message: `invalid JSON command: ${err.message}`, line })
    return
  }
  if (cmd === null || typeof cmd !== 'object' || Array.isArray(cmd)) {
    emit({ event: 'error', message: 'command must be a JSON object', line })
    return
  }
  /** @type {Record<string, unknown>} */
  const ack = { event: 'ack', op: cmd.op, id: cmd.id ?? null }
  if (cmd.seq !== undefined) ack.seq = cmd.seq
  if (cmd.op === 'exit') {
    emit(ack)
    shutdown(0)
    return
  }
  try {
    execute(cmd)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    diag(`command ${line} failed:`, err)
    emit({ event: 'error', op: cmd.op, id: cmd.id ?? null, seq: cmd.seq ?? null, message })
    ack.error = message
  }
  emit(ack)
}

process.on('uncaughtException', (err) => {
  diag('uncaught exception:', err)
  emit({ event: 'error', message: `uncaught exception: ${err && err.message ? err.message : String(err)}` })
})
process.on('unhandledRejection', (err) => {
  diag('unhandled rejection:', err)
  emit({ event: 'error', message: `unhandled rejection: ${err && err.message ? err.message : String(err)}` })
})
process.stdout.on('error', (err) => {
  // EPIPE: the Python side is gone. Nothing left to report to.
  console.error('[puppet] stdout error, exiting:', err.message)
  destroyAll()
  process.exit(0)
})

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false })
rl.on('line', handleLine)
rl.on('close', () => shutdown(0))

emit({ event: 'ready', pid: process.pid })
