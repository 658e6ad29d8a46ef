import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { startCli } from './helpers/cli.js'
import { API, simulatorEnv } from './helpers/harness.js'
import { heldForMs, startUpstream, type Upstream } from './helpers/upstream.js'

describe('POST /_proxy/quitquitquit', () => {
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

  it('starts the same drain as SIGTERM: the request in flight finishes, new connections are refused, the process exits 0', async () => {
    const proxy = startCli(['start'], simulatorEnv(sim, { CXONE_API_URL: slow.url }))
    try {
      const { url } = JSON.parse(await proxy.waitFor(/listening on/)) as { url: string }
      await proxy.waitFor(/token obtained/)
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
