import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { REPEAT_SIGNAL_WINDOW_MS } from '../src/runtime/cli.js'
import { startCli } from './helpers/cli.js'
import { API, simulatorEnv } from './helpers/harness.js'
import { heldForMs, startUpstream, type Upstream } from './helpers/upstream.js'

describe('graceful shutdown on SIGTERM', () => {
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
    expect(await inFlight).toEqual({
      status: 503,
      proxyStatus: 'cxone-auth-proxy; error=http_response_timeout; details="shutting_down"',
      retryAfter: '1',
      body: { error: { code: 'shutting_down', message: 'the proxy is shutting down and its grace period (PROXY_SHUTDOWN_GRACE_MS=300) ended before the API answered: retry; the call may have reached the API' } }
    })
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
    expect(await inFlight).toEqual({
      status: 503,
      proxyStatus: 'cxone-auth-proxy; error=http_response_timeout; details="shutting_down"',
      retryAfter: '1',
      body: { error: { code: 'shutting_down', message: 'the proxy was stopped (SIGTERM during the drain) before the API answered: retry; the call may have reached the API' } }
    })
  })
})
