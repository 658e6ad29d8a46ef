import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { startCli } from './helpers/cli.js'
import { API, simulatorEnv } from './helpers/harness.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

describe('SIGHUP reloads the configuration and never stops the proxy', () => {
  let sim: CxoneSimulator
  let slow: Upstream
  beforeAll(async () => {
    sim = await new CxoneSimulator().start()
    slow = await startUpstream((_req, res) => {
      setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"done":true}') }, 1_000)
    })
  })
  afterAll(async () => {
    await slow.close()
    await sim.stop()
  })

  it('logs one reload line, keeps the call in flight and keeps serving', async () => {
    const proxy = startCli(['start'], simulatorEnv(sim, { CXONE_API_URL: slow.url }))
    try {
      const url = (JSON.parse(await proxy.waitFor(/listening on/)) as { url: string }).url
      await proxy.waitFor(/token obtained/)
      const inFlight = fetch(`${url}${API}/slow`)
      await new Promise((resolve) => setTimeout(resolve, 200))
      proxy.child.kill('SIGHUP')
      const line = JSON.parse(await proxy.waitFor(/SIGHUP/)) as Record<string, unknown>
      expect(line).toMatchObject({ level: 30, reason: 'SIGHUP', outcome: 'unchanged', changed: [], msg: 'configuration reloaded: nothing to change' })
      const r = await inFlight
      expect({ status: r.status, body: await r.json() }).toEqual({ status: 200, body: { done: true } })
      const health = await fetch(`${url}/_proxy/healthz`)
      expect({ status: health.status, body: await health.json() }).toEqual({ status: 200, body: { status: 'ok' } })
      expect(proxy.output().split('\n').filter((l) => l.includes('SIGHUP'))).toHaveLength(1)
    } finally {
      const result = await proxy.stop('SIGTERM')
      expect(result.code).toBe(0)
    }
  })
})
