import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { simulatorEnv } from './helpers/harness.js'

const MAIN = resolve('dist/main.js')
/** The proxy's logger alone, bundled from src/ (dist/ holds one bundle, not a file per module). */
const LOG_DIR = mkdtempSync(join(tmpdir(), 'dead-log-pipe-'))
const LOG = pathToFileURL(join(LOG_DIR, 'log.mjs')).href
/** Long enough for a loaded 2-core machine to drain and exit; the defect never exits at all. */
const EXIT_WITHIN_MS = 10_000

/**
 * A real process logging through the proxy's logger: on SIGTERM it logs two lines and exits at once, so the
 * second is still pending when the exit flush runs (the shape of the proxy's "shutting down" … "stopped").
 */
const LOGGER_CHILD = `
import { writeSync } from 'node:fs'
const { createLogger } = await import(${JSON.stringify(LOG)})
const logger = createLogger('info')
const lines = Number(process.env.LINES ?? 0)
for (let i = 0; i < lines; i++) logger.info({ i }, 'line')
if (lines > 0) process.exit(0)
process.on('SIGTERM', () => {
  logger.info('shutting down')
  logger.info('stopped')
  process.exit(0)
})
writeSync(2, 'ready\\n')
setInterval(() => {}, 1000)
`

function exitOf (child: ChildProcess): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => { child.on('exit', (code, signal) => { resolve({ code, signal }) }) })
}

/** Resolves with the exit, or SIGKILLs the child after EXIT_WITHIN_MS (then the signal is SIGKILL). */
async function exitWithin (child: ChildProcess, exited: ReturnType<typeof exitOf>): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_WITHIN_MS)
  const result = await exited
  clearTimeout(timer)
  return result
}

function firstLine (stream: NodeJS.ReadableStream, re: RegExp): Promise<string> {
  let seen = ''
  return new Promise((resolve) => {
    const onData = (d: Buffer): void => {
      seen += d.toString()
      const line = seen.split('\n').find((l) => re.test(l))
      if (line !== undefined) { stream.off('data', onData); resolve(line) }
    }
    stream.on('data', onData)
  })
}

describe('fault: the log pipe\'s reader is gone (a dead log shipper, a parent that exited)', () => {
  let sim: CxoneSimulator
  beforeAll(async () => {
    await build({ entryPoints: ['src/core/log.ts'], bundle: true, platform: 'node', format: 'esm', outfile: join(LOG_DIR, 'log.mjs'), logLevel: 'silent', banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } })
    sim = await new CxoneSimulator().start()
  })
  afterAll(async () => {
    await sim.stop()
    rmSync(LOG_DIR, { recursive: true, force: true })
  })

  it('the logger lets the process exit with its code when the last lines meet EPIPE', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', LOGGER_CHILD], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = exitOf(child)
    await firstLine(child.stderr, /ready/)
    child.stdout.destroy()
    child.kill('SIGTERM')
    expect(await exitWithin(child, exited)).toEqual({ code: 0, signal: null })
  }, 30_000)

  it('loses no line a live reader can still take, even when the process exits right after logging', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', LOGGER_CHILD], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LINES: '5000' } })
    const exited = exitOf(child)
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    const closed = new Promise((resolve) => child.stdout.on('close', resolve))
    expect(await exitWithin(child, exited)).toEqual({ code: 0, signal: null })
    await closed
    const lines = out.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { i: number }).i)
    expect(lines).toEqual(Array.from({ length: 5000 }, (_, i) => i))
  }, 30_000)

  it('the proxy drains on SIGTERM and exits 0 after its stdout reader has gone', async () => {
    const child = spawn(process.execPath, [MAIN, 'start'], { env: { PATH: process.env.PATH, ...simulatorEnv(sim) }, stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = exitOf(child)
    const listening = firstLine(child.stdout, /listening on/)
    await firstLine(child.stdout, /token obtained/)
    const url = (JSON.parse(await listening) as { url: string }).url
    child.stdout.destroy()
    expect((await fetch(`${url}/_proxy/healthz`)).status).toBe(200)
    child.kill('SIGTERM')
    expect(await exitWithin(child, exited)).toEqual({ code: 0, signal: null })
  }, 30_000)
})
