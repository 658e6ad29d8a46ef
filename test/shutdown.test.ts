import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { REPEAT_SIGNAL_WINDOW_MS } from '../src/runtime/cli.js'
import { startCli } from './helpers/cli.js'
import { API, simulatorEnv } from './helpers/harness.js'
import { heldForMs, startUpstream, type Upstream } from './helpers/upstream.js'

describe('graceful shutdown: SIGTERM, SIGINT and POST /_proxy/quitquitquit', () => {
  let sim: CxoneSimulator
  let slow: Upstream
  beforeAll(async () => {
    sim = await new CxoneSimulator().start()
    slow = await startUpstream(heldForMs)
  })
  afterAll(async () => {
    await slow.close()
    await sim.stop()
  })

  /** The 503 a caller still waiting gets when the drain is cut short. */
  const shuttingDown = (message: string): unknown => ({
    status: 503,
    proxyStatus: 'cxone-auth-proxy; error=http_response_timeout; details="shutting_down"',
    retryAfter: '1',
    body: { error: { code: 'shutting_down', message } }
  })

  async function proxyUrl (proxy: ReturnType<typeof startCli>): Promise<string> {
    const line = JSON.parse(await proxy.waitFor(/listening on/)) as { url: string }
    await proxy.waitFor(/token obtained/)
    return line.url
  }

  it('finishes the request in flight, refuses new connections, exits 0', async () => {
    const proxy = startCli(['start'], simulatorEnv(sim, { CXONE_API_URL: slow.url }))
    const url = await proxyUrl(proxy)
    const inFlight = fetch(`${url}${API}/slow?ms=1500`)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const exited = proxy.stop('SIGTERM')
    await proxy.waitFor(/shutting down/)
    await expect(fetch(`${url}/_proxy/healthz`)).rejects.toThrow()
    const r = await inFlight
    expect(r.status).toBe(200)
    expect(await r.json()).toEqual({ done: true })
    expect((await exited).code).toBe(0)
  })

  async function answer (r: Response): Promise<{ status: number, proxyStatus: string | null, retryAfter: string | null, body: unknown }> {
    return { status: r.status, proxyStatus: r.headers.get('proxy-status'), retryAfter: r.headers.get('retry-after'), body: await r.json() }
  }

  it('when the grace period is over, a caller still waiting gets 503 shutting_down, not a bare hang-up', async () => {
    const proxy = startCli(['start'], simulatorEnv(sim, { CXONE_API_URL: slow.url, PROXY_SHUTDOWN_GRACE_MS: '300' }))
    const url = await proxyUrl(proxy)
    const inFlight = fetch(`${url}${API}/slow?ms=5000`).then(answer)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const started = Date.now()
    const result = await proxy.stop('SIGTERM')
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('grace period over')
    expect(result.stdout).toContain('1 caller(s) still waiting answered 503 shutting_down; cutting every connection')
    expect(await inFlight).toEqual(shuttingDown('the proxy is shutting down and its grace period (PROXY_SHUTDOWN_GRACE_MS=300) ended before the API answered: retry; the call may have reached the API'))
  })

  it('Ctrl-C under npm (SIGINT from the terminal and again from npm, ms apart) drains as one stop and exits 0', async () => {
    const proxy = startCli(['start'], simulatorEnv(sim, { CXONE_API_URL: slow.url }))
    const url = await proxyUrl(proxy)
    const inFlight = fetch(`${url}${API}/slow?ms=1500`).then(answer)
    await new Promise((resolve) => setTimeout(resolve, 200))
    proxy.child.kill('SIGINT')
    await new Promise((resolve) => setTimeout(resolve, 20))
    const result = await proxy.stop('SIGINT')
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null })
    expect(result.stdout).not.toContain('during the drain')
    expect(await inFlight).toEqual({ status: 200, proxyStatus: null, retryAfter: null, body: { done: true } })
  })

  it('a second SIGTERM during the drain stops at once: waiting callers get 503, the exit code is 143 (128 + SIGTERM)', async () => {
    const proxy = startCli(['start'], simulatorEnv(sim, { CXONE_API_URL: slow.url }))
    const url = await proxyUrl(proxy)
    const inFlight = fetch(`${url}${API}/slow?ms=10000`).then(answer)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const started = Date.now()
    const exited = proxy.stop('SIGTERM')
    await proxy.waitFor(/shutting down/)
    await new Promise((resolve) => setTimeout(resolve, REPEAT_SIGNAL_WINDOW_MS + 100))
    proxy.child.kill('SIGTERM')
    const result = await exited
    expect(Date.now() - started).toBeLessThan(REPEAT_SIGNAL_WINDOW_MS + 3_000)
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 143, signal: null })
    expect(result.stdout).toContain('SIGTERM received during the drain: stopping now')
    expect(await inFlight).toEqual(shuttingDown('the proxy was stopped (SIGTERM during the drain) before the API answered: retry; the call may have reached the API'))
  })

  it('starts the same drain as SIGTERM: the request in flight finishes, new connections are refused, the process exits 0', async () => {
    const proxy = startCli(['start'], simulatorEnv(sim, { CXONE_API_URL: slow.url }))
    try {
      const url = await proxyUrl(proxy)
      const inFlight = fetch(`${url}${API}/slow?ms=1500`)
      await new Promise((resolve) => setTimeout(resolve, 300))
      const quit = await fetch(`${url}/_proxy/quitquitquit`, { method: 'POST' })
      expect(quit.status).toBe(202)
      expect(await quit.json()).toEqual({ status: 'shutting_down', graceMs: 30000 })
      const draining = JSON.parse(await proxy.waitFor(/shutting down/)) as Record<string, unknown>
      expect(draining).toMatchObject({ reason: 'POST /_proxy/quitquitquit', graceMs: 30000, msg: 'shutting down: no new requests, finishing those in flight' })
      await expect(fetch(`${url}/_proxy/healthz`)).rejects.toThrow()
      const r = await inFlight
      expect(r.status).toBe(200)
      expect(await r.json()).toEqual({ done: true })
      // SIGCONT changes nothing for a running process: this only waits for the exit the call started.
      const result = await proxy.stop('SIGCONT')
      expect(result.signal).toBeNull()
      expect(result.code).toBe(0)
      expect(result.stdout).toContain('"msg":"stopped"')
    } finally {
      await proxy.stop('SIGKILL')
    }
  })
})
