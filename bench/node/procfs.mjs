// CPU time and memory of the server processes under test, read from /proc.

import { readFileSync } from 'node:fs'

// Linux reports CPU times in clock ticks of 1/100 s (USER_HZ) on every architecture.
const TICKS_PER_SECOND = 100

function status (pid, field) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field))
  return line === undefined ? 0 : Number(line.split(/\s+/)[1]) * 1024
}

function cpuSeconds (pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
}

/** Summed over `pids`: CPU seconds used so far, resident set and peak resident set (bytes). */
export function serverUsage (pids) {
  let cpu = 0
  let rss = 0
  let peak = 0
  for (const pid of pids) {
    cpu += cpuSeconds(pid)
    rss += status(pid, 'VmRSS:')
    peak += status(pid, 'VmHWM:')
  }
  return { cpu, rss, peak }
}

/** `serverUsage` for each of `pids` on its own, in order. */
export function serverUsageEach (pids) {
  return pids.map((pid) => serverUsage([pid]))
}
