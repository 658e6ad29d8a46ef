import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { API } from './helpers/harness.js'
import { FLEET_TEST_ENV, metric, startReplicas, stopReplicas, type Replica } from './helpers/fleet.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

const LIFETIME_SEC = 8
const RUN_MS = 24_000
const REPLICAS = 5

describe('a fleet of 5 proxy processes with tokens living a few seconds', () => {
  let redis: RedisServer
  let sim: CxoneSimulator
  let replicas: Replica[] = []

  beforeAll(async () => {
    redis = await startRedis()
    sim = await new CxoneSimulator({ lifetimeSec: LIFETIME_SEC }).start()
    replicas = await startReplicas(sim, redis.url, REPLICAS, FLEET_TEST_ENV)
  }, 60_000)
  afterAll(async () => {
    await stopReplicas(replicas)
    await sim.stop()
    await redis.stop()
  })

  it('refreshes once per lifetime for the whole fleet, and no caller ever meets an expired token', async () => {
    const statuses = new Map<number, number>()
    const started = Date.now()
    const before = sim.tokenRequests
    let i = 0
    // Each replica keeps a caller busy; every call goes through the simulator's API, which refuses expired tokens.
    await Promise.all(replicas.map(async (r) => {
      while (Date.now() - started < RUN_MS) {
        const res = await fetch(`${r.url}${API}/server-time`)
        await res.arrayBuffer()
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
        i += 1
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }))
    const elapsed = Date.now() - started
    const made = sim.tokenRequests - before
    const lifetimes = elapsed / (LIFETIME_SEC * 1000)
    console.log(`fleet refresh: ${i} calls over ${elapsed} ms (${lifetimes.toFixed(1)} lifetimes of ${LIFETIME_SEC} s), ${made} token requests by ${REPLICAS} replicas`)

    expect([...statuses.keys()]).toEqual([200])
    expect(sim.unauthorizedApiCalls).toBe(0)
    // Each token is refreshed before its end: at 80% of its lifetime, or earlier when the token request is slow
    // (here, on a loaded machine, as early as ~4 s of 8). One request per refresh for the whole fleet, plus one at
    // the edge; without sharing it would be one per replica per refresh (5 times as many).
    expect(made).toBeGreaterThanOrEqual(Math.floor(lifetimes) - 1)
    expect(made).toBeLessThanOrEqual(Math.ceil(elapsed / 4000) + 1)
    const texts = await Promise.all(replicas.map(async (r) => await (await fetch(`${r.url}/_proxy/metrics`)).text()))
    expect(texts.reduce((n, t) => n + metric(t, 'cxone_proxy_token_requests_total'), 0)).toBe(sim.tokenRequests)
  }, 60_000)
})
