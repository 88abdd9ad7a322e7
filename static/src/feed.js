// The room event socket: numbered events, the roster, and this client's presence.
// Reconnects with backoff and asks for what it missed ("after" the last seq seen).

import { isRefusal } from './logic/closes.js'

export class RoomFeed {
  constructor (room, token, { onEvent, onRoster, onStatus, onResync, onRefused }) {
    this.room = room
    this.token = token
    this.handlers = { onEvent, onRoster, onStatus, onResync, onRefused }
    this.seq = null
    this.presence = { document: null, state: 'active', following: null, spotlight_opt_out: false }
    this.socket = null
    this.retry = 0
    this.closed = false
  }

  start (seq) {
    this.seq = seq
    this.connect()
  }

  connect () {
    if (this.closed) return
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
    let url = `${scheme}//${location.host}/events/${encodeURIComponent(this.room)}?token=${encodeURIComponent(this.token)}`
    if (this.seq !== null) url += '&after=' + this.seq
    const socket = new WebSocket(url)
    this.socket = socket
    this.handlers.onStatus('connecting')
    socket.addEventListener('open', () => {
      this.retry = 0
      socket.send(JSON.stringify({ type: 'presence', ...this.presence }))
    })
    socket.addEventListener('message', (message) => this.receive(JSON.parse(message.data)))
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return
      clearInterval(this.pinger)
      if (isRefusal(event.code)) {
        this.closed = true
        this.handlers.onStatus('refused')
        this.handlers.onRefused(event.code, event.reason)
        return
      }
      this.handlers.onStatus('offline')
      const delay = Math.min(10000, 500 * 2 ** this.retry++) * (0.5 + Math.random() / 2)
      setTimeout(() => this.connect(), delay)
    })
    clearInterval(this.pinger)
    this.pinger = setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.send('{"type":"ping"}')
    }, 25000)
  }

  receive (message) {
    switch (message.type) {
      case 'ready':
        this.seq = message.seq
        this.handlers.onStatus('live')
        break
      case 'resync':
        this.seq = message.seq
        this.handlers.onResync()
        this.handlers.onStatus('live')
        break
      case 'roster':
        this.handlers.onRoster(message.participants)
        break
      case 'pong':
      case 'error':
        break
      default:
        if (typeof message.seq === 'number') {
          this.seq = message.seq
          this.handlers.onEvent(message)
        }
    }
  }

  setPresence (changes) {
    Object.assign(this.presence, changes)
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: 'presence', ...changes }))
    }
  }

  stop () {
    this.closed = true
    clearInterval(this.pinger)
    if (this.socket) this.socket.close()
  }
}
