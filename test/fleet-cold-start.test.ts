import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { API } from './helpers/harness.js'
import { FLEET_TEST_ENV, metric, startReplicas, stopReplicas, type Replica } from './helpers/fleet.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

describe('a cold fleet of 5 proxy processes sharing one Redis', () => {
  let redis: RedisServer
  let sim: CxoneSimulator
  let replicas: Replica[] = []

  beforeAll(async () => {
    redis = await startRedis()
    sim = await new CxoneSimulator().start()
    // Slow enough that every replica, and every request, arrives while the first token request is still out.
    sim.tokenDelayMs = 1500
    replicas = await startReplicas(sim, redis.url, 5, FLEET_TEST_ENV)
  }, 60_000)
  afterAll(async () => {
    await stopReplicas(replicas)
    await sim.stop()
    await redis.stop()
  })

  it('makes exactly 1 token request for 200 concurrent requests spread over them', async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const res = await fetch(`${(replicas[i % 5] as Replica).url}${API}/server-time`)
      return { status: res.status, body: await res.text() }
    }))
    expect(answers.filter((a) => a.status !== 200)).toEqual([])
    expect(sim.tokenRequests).toBe(1)
    expect(sim.unauthorizedApiCalls).toBe(0)

    const texts = await Promise.all(replicas.map(async (r) => await (await fetch(`${r.url}/_proxy/metrics`)).text()))
    expect(texts.map((t) => metric(t, 'cxone_proxy_redis_up'))).toEqual([1, 1, 1, 1, 1])
    // One replica asked; the four others waited for its token and took it from Redis.
    expect(texts.reduce((n, t) => n + metric(t, 'cxone_proxy_token_requests_total'), 0)).toBe(1)
    expect(texts.reduce((n, t) => n + metric(t, 'cxone_proxy_fleet_shared_token_hits_total'), 0)).toBe(4)
  })
})
