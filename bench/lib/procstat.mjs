// CPU time and memory of a process from /proc, read directly (what pidusage does, without the dependency).
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'

let ticks
function clockTicks () {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticks = 100
    }
  }
  return ticks
}

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces). */
function statFields (pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return text.slice(text.lastIndexOf(')') + 2).split(' ')
}

/** User + system CPU seconds the process (all its threads) has used. */
export function cpuSeconds (pid) {
  const f = statFields(pid)
  // proc(5): utime is field 14 and stime field 15; f[0] is field 3 (state).
  return (Number(f[11]) + Number(f[12])) / clockTicks()
}

/** Current and peak resident set size in bytes (VmRSS, VmHWM), and the anonymous part now (RssAnon: heap, not the mapped binary). */
export function memory (pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM'), rssAnon: kb('RssAnon') }
}

/** Pids whose parent is `pid` (nginx's worker under its master). */
export function childPids (pid) {
  const out = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (Number(statFields(name)[1]) === pid) out.push(Number(name))
    } catch { /* gone meanwhile */ }
  }
  return out
}

/** The machine, for the report. */
export function machine () {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown CPU'
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0)
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()
  return { cpu: model, cores, memGiB: Math.round(memKb / 1024 / 1024), kernel, node: process.version }
}
