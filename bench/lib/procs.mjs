// Child processes the benchmark starts: tracked, stopped at the end, on error and on Ctrl-C.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

const children = new Set()
let stopping = false

/** True once Ctrl-C or SIGTERM arrived: later failures are the interruption's, not the benchmark's. */
export function interrupted () {
  return stopping
}

/** Spawns a tracked child. `stopSignal` is what `stopAll` sends first (nginx wants SIGQUIT or SIGTERM). */
export function start (name, command, args, options = {}) {
  return adopt(name, spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }))
}

/** Tracks a child started elsewhere (execFile). */
export function adopt (name, child) {
  const entry = { name, child, exited: false, stderr: '' }
  child.once('exit', () => { entry.exited = true; children.delete(entry) })
  child.stderr?.on('data', (d) => { if (entry.stderr.length < 8192) entry.stderr += d })
  children.add(entry)
  return entry
}

/** Reads the first line a child prints on stdout, within `ms`. */
export async function firstLine (entry, ms = 10_000) {
  return await new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => { reject(new Error(`${entry.name} printed nothing within ${ms} ms: ${entry.stderr}`)) }, ms)
    entry.child.stdout.on('data', (d) => {
      buf += d
      const nl = buf.indexOf('\n')
      if (nl >= 0) { clearTimeout(timer); resolve(buf.slice(0, nl)) }
    })
    entry.child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${entry.name} exited (${code}) before it was ready: ${entry.stderr}`)) })
  })
}

/** Stops one child: its signal, then SIGKILL after `graceMs`. */
export async function stop (entry, signal = 'SIGTERM', graceMs = 5_000) {
  if (entry.exited) return
  const exited = new Promise((resolve) => entry.child.once('exit', resolve))
  entry.child.kill(signal)
  const timer = setTimeout(() => { if (!entry.exited) entry.child.kill('SIGKILL') }, graceMs)
  await exited
  clearTimeout(timer)
}

export async function stopAll () {
  await Promise.all([...children].map(async (e) => await stop(e)))
}

/** Last resort at exit: anything still running is killed by its own pid. */
export function killAllSync () {
  for (const e of children) if (!e.exited) e.child.kill('SIGKILL')
}

/** A free loopback port (bound, read, released). */
export async function freePort () {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** Polls `check` (async, truthy when ready) every `stepMs`, at most `tries` times. */
export async function waitUntil (what, check, tries = 100, stepMs = 100) {
  let last
  for (let i = 0; i < tries; i++) {
    try {
      if (await check()) return
    } catch (err) { last = err }
    await sleep(stepMs)
  }
  throw new Error(`${what} not ready after ${tries * stepMs} ms${last ? `: ${last.message}` : ''}`)
}

/** Stops every child on Ctrl-C, SIGTERM and at exit; `cleanup` runs once (temp dirs, in-process servers). */
export function installCleanup (cleanup) {
  let done = false
  const once = async () => {
    if (done) return
    done = true
    await stopAll()
    await cleanup()
  }
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      stopping = true
      process.stderr.write(`\n${sig}: stopping everything the benchmark started\n`)
      once().finally(() => process.exit(130))
    })
  }
  process.once('exit', killAllSync)
  return once
}
