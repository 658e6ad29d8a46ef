import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { API } from './helpers/harness.js'
import { metric, startReplica, type InProcessReplica } from './helpers/fleet.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

const LIFETIME_SEC = 5

async function until (what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!await probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('Redis stopped and restarted under a fleet', () => {
  let redis: RedisServer
  let sim: CxoneSimulator
  const replicas: InProcessReplica[] = []

  beforeAll(async () => {
    redis = await startRedis()
    sim = await new CxoneSimulator({ lifetimeSec: LIFETIME_SEC }).start()
  })
  afterAll(async () => {
    await Promise.all(replicas.splice(0).map(async (r) => { await r.close() }))
    await sim.stop()
    await redis.stop()
  })

  it('fails no caller request, logs one line per change of state, and shares again once Redis is back', async () => {
    const a = await startReplica(sim, redis.url)
    const b = await startReplica(sim, redis.url)
    replicas.push(a, b)
    const fp = (r: InProcessReplica): string | undefined => r.running.proxy.provider.status().fingerprint
    expect((await a.running.proxy.provider.getToken()).fingerprint).toBe((await b.running.proxy.provider.getToken()).fingerprint)

    const failures: string[] = []
    let calls = 0
    let running = true
    const callers = [a, b].map(async (r) => {
      while (running) {
        const res = await fetch(`${r.url}${API}/server-time`).catch((err: Error) => ({ status: err.message, arrayBuffer: async () => undefined }))
        await res.arrayBuffer()
        calls += 1
        if (res.status !== 200) failures.push(String(res.status))
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    })

    await redis.stop()
    // Each replica refreshes on its own while Redis is away: their tokens part.
    await until('each replica to hold its own token', () => fp(a) !== fp(b), 3 * LIFETIME_SEC * 1000)
    expect(metric(await a.metrics(), 'cxone_proxy_redis_up')).toBe(0)
    const tokensWhileDown = sim.tokenRequests

    await redis.restart()
    await until('both replicas to reconnect', async () => metric(await a.metrics(), 'cxone_proxy_redis_up') === 1 && metric(await b.metrics(), 'cxone_proxy_redis_up') === 1, 10_000)
    // The next refresh goes through Redis again: one replica fetches, the other takes its token.
    await until('the replicas to share a token again', () => fp(a) === fp(b) && sim.tokenRequests > tokensWhileDown, 3 * LIFETIME_SEC * 1000)
    running = false
    await Promise.all(callers)

    expect(failures).toEqual([])
    expect(calls).toBeGreaterThan(100)
    expect(sim.unauthorizedApiCalls).toBe(0)
    for (const r of [a, b]) {
      expect(r.logs.lines.filter((l) => l.includes('Redis is unreachable or slow'))).toHaveLength(1)
      expect(r.logs.lines.filter((l) => l.includes('Redis is reachable again'))).toHaveLength(1)
      expect(metric(await r.metrics(), 'cxone_proxy_redis_errors_total')).toBeGreaterThan(0)
    }

    // A new replica takes the shared token without asking.
    const before = sim.tokenRequests
    const c = await startReplica(sim, redis.url)
    replicas.push(c)
    expect((await c.running.proxy.provider.getToken()).fingerprint).toBe(fp(a))
    expect(sim.tokenRequests).toBe(before)
  }, 60_000)
})
