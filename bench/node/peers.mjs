#!/usr/bin/env node
// The peer servers, as their documentation sets them up, for the benchmarks:
//   node peers.mjs y-websocket PORT          the reference server (@y/websocket-server)
//   node peers.mjs hocuspocus PORT [REDIS]   Hocuspocus, with its Redis extension if given
// Both keep documents in memory only (no persistence extension).

import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const [kind, port, redisUrl] = process.argv.slice(2)

if (kind === 'y-websocket') {
  const require = createRequire(import.meta.url)
  const server = join(dirname(require.resolve('@y/websocket-server/package.json')), 'src', 'server.js')
  // Run the package's own server in this process, as `npx y-websocket` does.
  process.env.HOST = '127.0.0.1'
  process.env.PORT = port
  await import(server)
} else if (kind === 'hocuspocus') {
  const { Server } = await import('@hocuspocus/server')
  const extensions = []
  if (redisUrl) {
    const { Redis } = await import('@hocuspocus/extension-redis')
    const url = new URL(redisUrl)
    extensions.push(new Redis({
      host: url.hostname,
      port: Number(url.port || 6379),
      prefix: process.env.HOCUSPOCUS_REDIS_PREFIX ?? 'hocuspocus-bench'
    }))
  }
  const server = new Server({ address: '127.0.0.1', port: Number(port), quiet: true, extensions })
  await server.listen()
  console.log(`hocuspocus on ${port}`)
} else {
  console.error('usage: peers.mjs y-websocket|hocuspocus PORT [REDIS_URL]')
  process.exit(2)
}
