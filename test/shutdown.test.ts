import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { startCli } from './helpers/cli.js'
import { API, simulatorEnv } from './helpers/harness.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

describe('graceful shutdown on SIGTERM', () => {
  let sim: CxoneSimulator
  let slow: Upstream
  beforeAll(async () => {
    sim = await new CxoneSimulator().start()
    slow = await startUpstream((req, res) => {
      const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0)
      setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"done":true}') }, ms)
    })
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

  it('closes what is still open when the grace period is over', async () => {
    const proxy = startCli(['start'], simulatorEnv(sim, { CXONE_API_URL: slow.url, PROXY_SHUTDOWN_GRACE_MS: '300' }))
    const url = await proxyUrl(proxy)
    const inFlight = fetch(`${url}${API}/slow?ms=5000`).then(async (r) => await r.text()).catch((err: unknown) => err)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const started = Date.now()
    const result = await proxy.stop('SIGTERM')
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('grace period over')
    expect(await inFlight).toBeInstanceOf(Error)
  })
})
