#!/usr/bin/env node
// The load generator: one process, many clients, one workload against one server (or a
// pair of processes for crossworker). Reads a JSON spec as its argument, prints one JSON
// result on stdout.
//
//   node loadgen.mjs '{"target": {"protocol": "y-websocket", "urls": ["ws://127.0.0.1:1234"]},
//                      "workload": "fanout", "readers": 50, "rates": [50, 100], "seconds": 5}'
//
// Latency is measured from the intended send time of each edit (open loop), so a server
// that falls behind is charged for the queue it builds, not only for the edits it handles.

import { performance } from 'node:perf_hooks'
import * as Y from 'yjs'
import { Client, Target, marker } from './clients.mjs'
import { serverUsage, serverUsageEach } from './procfs.mjs'
import { loadTrace, random } from './trace.mjs'

const CONNECT_BATCH = 100
const CONNECT_TIMEOUT_MS = 60000
const DRAIN_MS = 10000
const KNEE_P99_MS = 50

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function summary (values) {
  if (values.length === 0) return { count: 0, p50: null, p95: null, p99: null, max: null }
  const sorted = Float64Array.from(values).sort()
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  return {
    count: sorted.length,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1])
  }
}

const round = (value) => Math.round(value * 1000) / 1000

/**
 * Connect `clients`, CONNECT_BATCH at a time. Without `settled` the first failure fails
 * the workload; with it, failures are counted and no batch starts after `deadline`.
 */
async function connectInBatches (clients, { settled = false, deadline = Infinity } = {}) {
  let failed = 0
  for (let i = 0; i < clients.length; i += CONNECT_BATCH) {
    const batch = clients.slice(i, i + CONNECT_BATCH)
    if (!settled) {
      await Promise.all(batch.map((client) => client.connect()))
      continue
    }
    if (performance.now() > deadline) return failed + clients.length - i
    const outcomes = await Promise.allSettled(batch.map((client) => client.connect(CONNECT_TIMEOUT_MS)))
    failed += outcomes.filter((outcome) => outcome.status === 'rejected').length
  }
  return failed
}

/**
 * Connect every client, up to CONNECT_BATCH at a time. For a target with `firstJoinAlone`
 * (pycrdt-websocket, whose room start holds a lock that a second connection arriving
 * meanwhile waits on for ever) each document's first client connects before the others.
 */
async function connectAll (clients, options = {}) {
  if (clients.length === 0 || !clients[0].target.firstJoinAlone) return connectInBatches(clients, options)
  const firsts = new Map()
  for (const client of clients) if (!firsts.has(client.name)) firsts.set(client.name, client)
  const first = new Set(firsts.values())
  const failed = await connectInBatches([...first], options)
  return failed + await connectInBatches(clients.filter((client) => !first.has(client)), options)
}

async function closeAll (clients) {
  for (const client of clients) client.close()
  await Promise.all(clients.map((client) => client.closedPromise()))
}

/** Wait until `done()` or `timeoutMs`, checking every few milliseconds. */
async function until (done, timeoutMs) {
  const deadline = performance.now() + timeoutMs
  while (!done() && performance.now() < deadline) await sleep(5)
  return done()
}

/**
 * Tracks which edits each reader received and how late: one row of flags per reader and
 * writer, so a duplicate delivery is not counted twice.
 */
class Deliveries {
  constructor (sendTimes, own, servers = 1) {
    this.sendTimes = sendTimes // writer -> Float64Array of intended send times
    this.own = own // (client, writer) -> whether the client is that writer (servers may echo)
    // Deliveries counted by the server process the client is on (client i on i % servers).
    this.byServer = new Array(servers).fill(0)
    this.latencies = []
    this.crossLatencies = []
    this.delivered = 0
    this.bytes = 0
    this.messages = 0
  }

  record (client, markers, bytes, crossing) {
    const now = performance.now()
    this.bytes += bytes
    this.messages += 1
    // Rows of flags hang off the client, indexed by writer: no lookups by key per message.
    const rows = client.deliveryRows ?? (client.deliveryRows = [])
    for (let m = 0; m < markers.length; m++) {
      const writer = markers[m][0]
      const seq = markers[m][1]
      const times = this.sendTimes.get(writer)
      if (times === undefined || seq >= times.length || this.own(client, writer)) continue
      const row = rows[writer] ?? (rows[writer] = new Uint8Array(times.length))
      if (row[seq]) continue
      row[seq] = 1
      this.delivered += 1
      this.byServer[client.index % this.byServer.length] += 1
      const latency = now - times[seq]
      if (crossing(client, writer)) this.crossLatencies.push(latency)
      else this.latencies.push(latency)
    }
  }
}

/**
 * Send `total` edits round-robin over `writers` at `rate` edits per second in all, each
 * at its intended time (open loop). Returns how far the sender itself fell behind.
 */
async function sendEdits (writers, total, rate, sendTimes, rng, onTick = null) {
  const start = performance.now() + 20
  const interval = 1000 / rate
  let next = 0
  let worstLag = 0
  while (next < total) {
    const now = performance.now()
    while (next < total && start + next * interval <= now) {
      const writer = writers[next % writers.length]
      const seq = Math.floor(next / writers.length)
      const intended = start + next * interval
      sendTimes.get(writer.id)[seq] = intended
      const length = writer.client.doc.getText('bench').length
      writer.client.insert(Math.floor(rng() * (length + 1)), marker(writer.id, seq))
      worstLag = Math.max(worstLag, performance.now() - intended)
      next += 1
    }
    if (onTick !== null) onTick(now)
    const wait = start + next * interval - performance.now()
    if (wait > 0) await sleep(wait)
  }
  return worstLag
}

/** Every copy equal: the writers', the full readers' and a freshly joined client's. */
async function converged (target, name, copies, index = 0) {
  const checker = new Client(target, name, index, { keepDoc: true })
  await checker.connect()
  const expected = checker.text
  const equal = copies.every((client) => client.text === expected)
  await closeAll([checker])
  return { equal, length: expected.length }
}

function writersFor (clients, count) {
  return clients.slice(0, count).map((client, id) => ({ id, client }))
}

/** One open-loop run of edits into one document, read by everyone in it. */
async function editRun (spec, { name, writerCount, readerCount, rate, seconds, awarenessHz = 0 }) {
  const target = new Target(spec.target)
  const servers = spec.target.urls.length
  const total = Math.max(1, Math.round(rate * seconds))
  const perWriter = Math.ceil(total / writerCount)
  const sendTimes = new Map()
  for (let id = 0; id < writerCount; id++) sendTimes.set(id, new Float64Array(perWriter))
  const deliveries = new Deliveries(sendTimes, (client, writer) => client.index === writer, servers)
  // Client i is on server i % servers; writer w is client w.
  const crossing = (client, writer) => servers > 1 && client.index % servers !== writer % servers
  const onMarkers = (client, markers, bytes) => deliveries.record(client, markers, bytes, crossing)
  const clients = []
  for (let i = 0; i < writerCount + readerCount; i++) {
    // Writers, and the first `fullReaders` readers, decode what they receive.
    const keepDoc = i < writerCount + (spec.fullReaders ?? 2)
    clients.push(new Client(target, name, i, { keepDoc, onMarkers }))
  }
  await connectAll(clients)
  const writers = writersFor(clients, writerCount)
  // Every edit reaches every client but its writer.
  const expected = total * (writerCount - 1 + readerCount)
  const rng = random(spec.seed ?? 1)
  let awarenessSent = 0
  const phases = clients.map(() => rng())
  const nextAwareness = clients.map((_, i) => performance.now() + phases[i] * 1000)
  const onTick = awarenessHz > 0
    ? (now) => {
        for (let i = 0; i < clients.length; i++) {
          if (nextAwareness[i] <= now) {
            clients[i].sendAwareness(Math.floor(rng() * 1000))
            nextAwareness[i] += 1000 / awarenessHz
            awarenessSent += 1
          }
        }
      }
    : null
  const usage0 = serverUsage(spec.pids ?? [])
  const each0 = serverUsageEach(spec.pids ?? [])
  const cpu0 = process.cpuUsage()
  const sendLag = await sendEdits(writers, total, rate, sendTimes, rng, onTick)
  await until(() => deliveries.delivered >= expected, DRAIN_MS)
  const cpu1 = process.cpuUsage(cpu0)
  const usage1 = serverUsage(spec.pids ?? [])
  const each1 = serverUsageEach(spec.pids ?? [])
  const copies = clients.filter((client) => client.keepDoc)
  const convergence = await converged(target, name, copies)
  const errors = clients.flatMap((client) => client.errors)
  const closedEarly = clients.filter((client) => client.closed).length
  await closeAll(clients)
  return {
    offered_rate: rate,
    seconds,
    writers: writerCount,
    readers: readerCount,
    edits: total,
    expected,
    delivered: deliveries.delivered,
    delivery: round(deliveries.delivered / expected),
    latency_ms: summary(deliveries.latencies),
    crossing_latency_ms: servers > 1 ? summary(deliveries.crossLatencies) : undefined,
    // Whole messages, without WebSocket framing.
    bytes_per_edit: round(deliveries.bytes / Math.max(1, deliveries.messages)),
    awareness_sent: awarenessSent,
    converged: convergence.equal,
    document_length: convergence.length,
    server_cpu_s: round(usage1.cpu - usage0.cpu),
    server_rss_mb: round(usage1.rss / 1048576),
    server_peak_rss_mb: round(usage1.peak / 1048576),
    // Per server process, in the order of `pids` (and of the target's urls).
    server_cpu_by_process_s: each1.map((usage, i) => round(usage.cpu - each0[i].cpu)),
    delivered_by_process: deliveries.byServer,
    generator_cpu_s: round((cpu1.user + cpu1.system) / 1e6),
    generator_send_lag_ms: round(sendLag),
    errors: errors.slice(0, 5),
    closed_early: closedEarly
  }
}

/** The knee: the highest offered rate with every edit delivered and p99 under 50 ms. */
function passes (step) {
  return step.delivery === 1 && step.converged && step.latency_ms.p99 !== null &&
    step.latency_ms.p99 < KNEE_P99_MS
}

/** One rate of a sweep: up to `attempts` runs, until one passes. */
async function fanoutRate (spec, rate, attempts) {
  let step = null
  for (let attempt = 0; attempt < attempts; attempt++) {
    step = await editRun(spec, {
      name: `${spec.workload}-${spec.run ?? 0}-${rate}-${attempt}`,
      writerCount: 1,
      readerCount: spec.readers,
      rate,
      seconds: spec.seconds
    })
    step.attempt = attempt + 1
    log(`${spec.workload} ${rate}/s: p99 ${step.latency_ms.p99} ms, delivery ${step.delivery}`)
    if (passes(step)) break
  }
  return step
}

/**
 * One writer, `readers` readers in one document (spread over the target's processes,
 * client i on process i % processes), at each offered rate in turn.
 */
async function fanout (spec) {
  // A rate passes if one of its attempts does (a noisy moment on a shared machine
  // can spoil one); the sweep ends after `stopAfterFailures` rates in a row fail.
  const steps = []
  let knee = null
  let failures = 0
  for (const rate of spec.rates) {
    const step = await fanoutRate(spec, rate, spec.attempts ?? 1)
    steps.push(step)
    if (passes(step)) {
      knee = rate
      failures = 0
    } else if (++failures >= (spec.stopAfterFailures ?? 2)) {
      break
    }
  }
  // Rates reported whether or not the sweep reached them (overload), tried once.
  const done = new Set(steps.map((step) => step.offered_rate))
  for (const rate of spec.alwaysRates ?? []) {
    if (!done.has(rate)) steps.push({ ...(await fanoutRate(spec, rate, 1)), beyond_sweep: true })
  }
  steps.sort((a, b) => a.offered_rate - b.offered_rate)
  return { workload: spec.workload, readers: spec.readers, processes: spec.target.urls.length, knee, steps }
}

async function hotroom (spec) {
  const result = await editRun(spec, {
    name: `hotroom-${spec.run ?? 0}`,
    writerCount: spec.writers,
    readerCount: spec.readers,
    rate: spec.ratePerWriter * spec.writers,
    seconds: spec.seconds,
    awarenessHz: spec.awarenessHz ?? 1
  })
  return { workload: spec.workload, ...result }
}

async function rooms (spec) {
  const target = new Target(spec.target)
  const pids = spec.pids ?? []
  const docs = spec.docs
  const perDoc = spec.clientsPerDoc
  const total = Math.max(1, Math.round(spec.ratePerDoc * spec.seconds))
  const sendTimes = new Map()
  for (let d = 0; d < docs; d++) sendTimes.set(d, new Float64Array(total))
  const deliveries = new Deliveries(sendTimes, (client, writer) => client.index === writer * perDoc)
  const onMarkers = (client, markers, bytes) => deliveries.record(client, markers, bytes, () => false)
  const active = []
  for (let d = 0; d < docs; d++) {
    for (let c = 0; c < perDoc; c++) {
      active.push(new Client(target, `rooms-${spec.run ?? 0}-${d}`, d * perDoc + c, {
        keepDoc: c === 0, onMarkers
      }))
    }
  }
  await connectAll(active)
  await sleep(spec.settleMs ?? 2000)
  const before = serverUsage(pids)
  const idle = []
  for (let i = 0; i < spec.idle; i++) {
    idle.push(new Client(target, `idle-${spec.run ?? 0}-${i % (spec.idleDocs ?? 100)}`, i))
  }
  await connectAll(idle)
  await sleep(spec.settleMs ?? 2000)
  const after = serverUsage(pids)
  const writers = []
  for (let d = 0; d < docs; d++) writers.push({ id: d, client: active[d * perDoc] })
  const rng = random(spec.seed ?? 1)
  const cpu0 = process.cpuUsage()
  const sendLag = await sendEdits(writers, total * docs, spec.ratePerDoc * docs, sendTimes, rng)
  const expected = total * docs * (perDoc - 1)
  await until(() => deliveries.delivered >= expected, DRAIN_MS)
  const cpu1 = process.cpuUsage(cpu0)
  const usage = serverUsage(pids)
  let allEqual = true
  for (let d = 0; d < docs; d++) {
    const { equal } = await converged(target, `rooms-${spec.run ?? 0}-${d}`, [active[d * perDoc]])
    allEqual &&= equal
  }
  const errors = [...active, ...idle].flatMap((client) => client.errors)
  const closedEarly = [...active, ...idle].filter((client) => client.closed).length
  await closeAll([...active, ...idle])
  return {
    workload: 'rooms',
    docs,
    clients_per_doc: perDoc,
    idle: spec.idle,
    offered_rate: spec.ratePerDoc * docs,
    expected,
    delivered: deliveries.delivered,
    delivery: round(deliveries.delivered / expected),
    latency_ms: summary(deliveries.latencies),
    // Whole messages, without WebSocket framing.
    bytes_per_edit: round(deliveries.bytes / Math.max(1, deliveries.messages)),
    converged: allEqual,
    rss_before_idle_mb: round(before.rss / 1048576),
    rss_after_idle_mb: round(after.rss / 1048576),
    rss_per_idle_kb: round((after.rss - before.rss) / 1024 / Math.max(1, spec.idle)),
    server_cpu_idle_connects_s: round(after.cpu - before.cpu),
    server_cpu_s: round(usage.cpu - after.cpu),
    server_peak_rss_mb: round(usage.peak / 1048576),
    generator_cpu_s: round((cpu1.user + cpu1.system) / 1e6),
    generator_send_lag_ms: round(sendLag),
    errors: errors.slice(0, 5),
    closed_early: closedEarly
  }
}

/**
 * How many connections one server process holds: `docs` x `clientsPerDoc` clients, each
 * synced and then idle, before one client per document (the active ones) sends
 * `ratePerActive` edits per second for `seconds`; everyone else in its document reads.
 */
async function connections (spec) {
  const target = new Target(spec.target)
  const pids = spec.pids ?? []
  const docs = spec.docs
  const perDoc = spec.clientsPerDoc
  const total = Math.max(1, Math.round(spec.ratePerActive * spec.seconds))
  const sendTimes = new Map()
  for (let d = 0; d < docs; d++) sendTimes.set(d, new Float64Array(total))
  const deliveries = new Deliveries(sendTimes, (client, writer) => client.index === writer * perDoc)
  const onMarkers = (client, markers, bytes) => deliveries.record(client, markers, bytes, () => false)
  const clients = []
  for (let d = 0; d < docs; d++) {
    for (let c = 0; c < perDoc; c++) {
      clients.push(new Client(target, `connections-${spec.run ?? 0}-${d}`, d * perDoc + c, {
        keepDoc: c === 0, onMarkers
      }))
    }
  }
  const base = serverUsage(pids)
  const genBase = process.cpuUsage()
  const joinStarted = performance.now()
  const failed = await connectAll(clients, {
    settled: true, deadline: joinStarted + (spec.joinBudgetMs ?? 300000)
  })
  const joinMs = performance.now() - joinStarted
  await sleep(spec.settleMs ?? 2000)
  const joined = serverUsage(pids)
  const genJoined = process.cpuUsage(genBase)
  const held = (client) => client.synced && !client.closed
  const heldAfterJoin = clients.filter(held).length
  // Writers whose connection is held; each edit is expected at every held reader of its document.
  const writers = []
  let expected = 0
  for (let d = 0; d < docs; d++) {
    const writer = clients[d * perDoc]
    if (!held(writer)) continue
    writers.push({ id: d, client: writer })
    expected += total * clients.slice(d * perDoc + 1, (d + 1) * perDoc).filter(held).length
  }
  const rng = random(spec.seed ?? 1)
  const cpu0 = process.cpuUsage()
  const sendLag = writers.length === 0
    ? 0
    : await sendEdits(writers, total * writers.length, spec.ratePerActive * writers.length, sendTimes, rng)
  await until(() => deliveries.delivered >= expected, DRAIN_MS)
  const cpu1 = process.cpuUsage(cpu0)
  const active = serverUsage(pids)
  const heldAtEnd = clients.filter(held).length
  let allEqual = writers.length > 0
  for (const { id } of writers) {
    const { equal } = await converged(target, `connections-${spec.run ?? 0}-${id}`, [clients[id * perDoc]])
    allEqual &&= equal
  }
  const errors = clients.flatMap((client) => client.errors)
  await closeAll(clients)
  return {
    workload: 'connections',
    docs,
    clients_per_doc: perDoc,
    connections: clients.length,
    connections_failed: failed,
    connections_held: heldAfterJoin,
    connections_held_at_end: heldAtEnd,
    active: writers.length,
    join_s: round(joinMs / 1000),
    offered_rate: spec.ratePerActive * writers.length,
    edits: total * writers.length,
    expected,
    delivered: deliveries.delivered,
    delivery: expected === 0 ? 0 : round(deliveries.delivered / expected),
    latency_ms: summary(deliveries.latencies),
    converged: allEqual,
    rss_before_mb: round(base.rss / 1048576),
    rss_held_mb: round(joined.rss / 1048576),
    rss_per_connection_kb: heldAfterJoin === 0
      ? null
      : round((joined.rss - base.rss) / 1024 / heldAfterJoin),
    server_cpu_joining_s: round(joined.cpu - base.cpu),
    server_cpu_active_s: round(active.cpu - joined.cpu),
    server_peak_rss_mb: round(active.peak / 1048576),
    generator_cpu_joining_s: round((genJoined.user + genJoined.system) / 1e6),
    generator_cpu_s: round((cpu1.user + cpu1.system) / 1e6),
    generator_send_lag_ms: round(sendLag),
    errors: [...new Set(errors)].slice(0, 5),
    closed_early: clients.length - heldAtEnd
  }
}

/** The trace's edits, grouped into `chunks` updates from one client. */
function traceUpdates (source, chunks) {
  const trace = loadTrace(source)
  const patches = trace.patches
  const doc = new Y.Doc()
  const text = doc.getText('bench')
  text.insert(0, trace.startContent)
  const updates = []
  doc.on('update', (update) => updates.push(update))
  const size = Math.ceil(patches.length / chunks)
  for (let i = 0; i < patches.length; i += size) {
    doc.transact(() => {
      for (const [position, deleted, inserted] of patches.slice(i, i + size)) {
        if (deleted > 0) text.delete(position, deleted)
        if (inserted.length > 0) text.insert(position, inserted)
      }
    })
  }
  if (text.toString() !== trace.endContent) throw new Error('the trace did not replay to its end content')
  return { updates, operations: patches.length, endContent: trace.endContent, doc, source: trace.source }
}

async function coldjoin (spec) {
  const target = new Target(spec.target)
  const name = spec.document ?? `coldjoin-${spec.run ?? 0}`
  const trace = traceUpdates(spec.trace, spec.chunks ?? 1000)
  const result = {
    workload: 'coldjoin',
    trace: trace.source,
    operations: trace.operations,
    final_length: trace.endContent.length,
    full_state_bytes: Y.encodeStateAsUpdate(trace.doc).length,
    joiners: spec.joiners,
    rounds: []
  }
  const allTimes = []
  const allOpens = []
  let holder = null
  if (spec.upload !== false) {
    holder = new Client(target, name, 0)
    await holder.connect()
    const started = performance.now()
    for (const update of trace.updates) holder.sendUpdate(update)
    await until(() => holder.buffered === 0, 60000)
    // Uploaded when a fresh client receives the whole text.
    let length = -1
    const deadline = performance.now() + 120000
    while (performance.now() < deadline) {
      const check = new Client(target, name, 0, { keepDoc: true })
      await check.connect(60000)
      length = check.text.length
      const equal = check.text === trace.endContent
      await closeAll([check])
      if (equal) break
      await sleep(200)
    }
    result.upload_ms = round(performance.now() - started)
    result.uploaded = length === trace.endContent.length
    if (spec.keepHolder === false) await closeAll([holder])
  }
  for (let r = 0; r < (spec.rounds ?? 5); r++) {
    const joiners = []
    for (let j = 0; j < spec.joiners; j++) joiners.push(new Client(target, name, j, { applyInitial: false }))
    const times = []
    const opens = []
    const started = performance.now()
    await Promise.all(joiners.map(async (client) => {
      const begin = performance.now()
      await client.connect(60000)
      times.push(performance.now() - begin)
      opens.push(client.openedAt - begin)
    }))
    allOpens.push(...opens)
    const wall = performance.now() - started
    allTimes.push(...times)
    // Decode one joiner's state fully and check it is the trace's final text.
    const check = new Y.Doc()
    Y.applyUpdate(check, joiners[0].initialState)
    const correct = check.getText('bench').toString() === trace.endContent
    result.rounds.push({ ...summary(times), wall_ms: round(wall), correct })
    await closeAll(joiners)
    log(`coldjoin round ${r}: p99 ${summary(times).p99} ms`)
  }
  result.join_ms = summary(allTimes)
  // Of which: until the WebSocket handshake completed.
  result.open_ms = summary(allOpens)
  result.correct = result.rounds.every((r) => r.correct)
  if (holder !== null && spec.keepHolder !== false) await closeAll([holder])
  return result
}

function log (message) {
  if (process.env.LOADGEN_QUIET !== '1') process.stderr.write(`${message}\n`)
}

const WORKLOADS = { fanout, scaling: fanout, hotroom, crossworker: hotroom, rooms, coldjoin, connections }

async function main () {
  const spec = JSON.parse(process.argv[2])
  const run = WORKLOADS[spec.workload]
  if (run === undefined) throw new Error(`unknown workload ${spec.workload}`)
  const result = await run(spec)
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(0)
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`)
  process.exit(1)
})
