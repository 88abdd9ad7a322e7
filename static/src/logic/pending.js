// Which of this browser's edits of one document the server has. Local edits are
// numbered as they are made (those restored from the browser's copy first); an edit is
// "sent" once it went out on a connection that is in sync with the server, and
// "confirmed" once the server answered a sync request sent after it. The server takes a
// connection's messages in order, so its answer to a request (sync step 2 to step 1)
// means it has read every edit sent before that request.

export class PendingEdits {
  /** `restored`: edits kept from an earlier page that the server had not confirmed. */
  constructor (restored = 0) {
    this.made = restored
    this.sent = 0
    this.confirmed = 0
    // For each sync request in flight on the connection, the edits sent before it.
    this.requests = []
    this.inSync = false
    this.refused = false
  }

  /** Edits not sent yet. */
  get waiting () {
    return this.made - this.sent
  }

  /** Edits the server has not confirmed (sent or not). */
  get unconfirmed () {
    return this.made - this.confirmed
  }

  /** Count `count` more edits kept from an earlier page. */
  restore (count) {
    if (Number.isInteger(count) && count > 0) this.made += count
  }

  /** A local edit: sent at once when the connection is in sync. */
  edit () {
    this.made += 1
    if (this.inSync) this.sent = this.made
  }

  /** A connection opened: nothing is in flight on it yet. */
  connected () {
    this.requests = []
    this.inSync = false
    this.refused = false
  }

  /** A sync request (step 1) went out on the connection. */
  request () {
    this.requests.push(this.sent)
  }

  /** The server answered the oldest request in flight (step 2). */
  answered () {
    const upTo = this.requests.shift()
    if (upTo !== undefined && !this.refused) this.confirmed = Math.max(this.confirmed, upTo)
  }

  /** This side answered the server's state (step 2 to its step 1): every edit is sent. */
  synced () {
    if (this.refused) return
    this.inSync = true
    this.sent = this.made
  }

  /** The server said it drops this connection's edits: what it did not confirm waits. */
  refuse () {
    this.refused = true
    this.inSync = false
    this.sent = this.confirmed
  }

  /** The connection closed: edits it did not confirm may be lost and wait again. */
  disconnected () {
    this.requests = []
    this.inSync = false
    this.sent = this.confirmed
  }

  /** Whether sent edits wait for a request that would confirm them. */
  needsRequest () {
    const covered = this.requests.length ? this.requests[this.requests.length - 1] : this.confirmed
    return this.inSync && this.sent > covered
  }
}
