import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { startCli } from './helpers/cli.js'
import { simulatorEnv } from './helpers/harness.js'
import { closedPort } from './helpers/run-process.js'

/**
 * True when Node's inspector answers on the port (its /json/version names the V8 protocol). Only the inspector
 * counts: on a busy machine another server may take the same free port by chance.
 */
async function inspectorAt (port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/json/version`, { signal: AbortSignal.timeout(1000) })
    const body = await r.text()
    return body.includes('Protocol-Version') || body.includes('V8-Version')
  } catch {
    return false
  }
}

describe('SIGUSR1 does not open the inspector', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator().start() })
  afterAll(async () => { await sim.stop() })

  it('logs a line, opens no inspector port and keeps serving', async () => {
    // Node's inspector would listen on 127.0.0.1:9229; a free port instead, so parallel runs cannot collide.
    const port = await closedPort()
    const proxy = startCli(['start'], simulatorEnv(sim, { NODE_OPTIONS: `--inspect-port=127.0.0.1:${port}` }))
    try {
      const url = (JSON.parse(await proxy.waitFor(/listening on/)) as { url: string }).url
      proxy.child.kill('SIGUSR1')
      const line = await proxy.waitFor(/SIGUSR1 received|Debugger listening/)
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(await inspectorAt(port)).toBe(false)
      expect(proxy.output()).not.toContain('Debugger listening')
      expect(JSON.parse(line)).toMatchObject({ level: 40, signal: 'SIGUSR1', msg: 'SIGUSR1 received: the inspector stays closed (start node with --inspect to debug); ignoring' })
      const health = await fetch(`${url}/_proxy/healthz`)
      expect(health.status).toBe(200)
    } finally {
      const result = await proxy.stop('SIGTERM')
      expect(result.code).toBe(0)
    }
  })

  it('guards SIGUSR1 and SIGTERM before anything listens: a signal right after the start-up line neither opens the inspector nor skips the drain (issue 25)', async () => {
    // The flaky run: SIGUSR1 sent after "listening on" but before the handlers were installed opened the inspector.
    const probe = new URL('./fixtures/sigusr1-at-listen.mjs', import.meta.url).href
    const proxy = startCli(['start'], simulatorEnv(sim, { NODE_OPTIONS: `--import=${probe}`, PROXY_ADMIN_PORT: '0' }))
    try {
      await proxy.waitFor(/listening on/)
      const counts = [...proxy.output().matchAll(/sigusr1-listeners-at-listen=(\d+) sigterm=(\d+)/g)].flatMap((m) => [Number(m[1]), Number(m[2])])
      expect(counts.length).toBeGreaterThan(1)
      expect(counts.every((n) => n > 0), counts.join(',')).toBe(true)
    } finally {
      const r = await proxy.stop('SIGTERM')
      expect(r.code, proxy.output()).toBe(0)
    }
  })
})
