import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { simulatorEnv } from './helpers/harness.js'

/** `npm run <script>` in its own process group, so a failed test can still clean up what npm started. */
function npmRun (script: string, env: NodeJS.ProcessEnv): { npm: ChildProcess, output: () => string } {
  const npm = spawn('npm', ['run', script], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  npm.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  npm.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  return { npm, output: () => out }
}

async function waitFor (what: () => string | undefined, timeoutMs: number, describeIt: () => string): Promise<string> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const found = what()
    if (found !== undefined) return found
    if (Date.now() > until) throw new Error(`timed out: ${describeIt()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function listening (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
  })
}

/** SIGTERM to npm alone (what `kill <npm's pid>` or a supervisor does); the proxy must not stay behind. */
async function stopNpmOnly (script: string, env: NodeJS.ProcessEnv, portFrom: RegExp): Promise<void> {
  const { npm, output } = npmRun(script, env)
  const group = npm.pid as number
  try {
    const port = Number(await waitFor(() => portFrom.exec(output())?.[1], 30_000, () => `no address in the output of npm run ${script}:\n${output()}`))
    expect(await listening(port)).toBe(true)
    process.kill(group, 'SIGTERM')
    const deadline = Date.now() + 5000
    let open = true
    while (open && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      open = await listening(port)
    }
    expect(open, `port ${port} still listening 5 s after npm got SIGTERM:\n${output()}`).toBe(false)
  } finally {
    try { process.kill(-group, 'SIGKILL') } catch { /* the group is gone */ }
  }
}

describe('stopping npm stops the proxy it started', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator().start() })
  afterAll(async () => { await sim.stop() })

  it('npm run demo: SIGTERM to npm leaves nothing listening', async () => {
    await stopNpmOnly('demo', { PROXY_PORT: '0' }, /the proxy on http:\/\/127\.0\.0\.1:(\d+),/)
  })

  it('npm start: SIGTERM to npm leaves nothing listening', async () => {
    await stopNpmOnly('start', simulatorEnv(sim), /listening on http:\/\/127\.0\.0\.1:(\d+)"/)
  })
})
