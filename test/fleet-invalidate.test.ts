import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { API } from './helpers/harness.js'
import { startReplica, type InProcessReplica } from './helpers/fleet.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

describe('an upstream 401 in a fleet', () => {
  let redis: RedisServer
  let sim: CxoneSimulator
  const replicas: InProcessReplica[] = []

  beforeEach(async () => {
    redis = await startRedis()
    sim = await new CxoneSimulator().start()
  })
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map(async (r) => { await r.close() }))
    await sim.stop()
    await redis.stop()
  })

  it('drops the shared token only while it is still the current one: one new token for the whole fleet', async () => {
    const a = await startReplica(sim, redis.url)
    replicas.push(a)
    const first = await a.running.proxy.provider.getToken()
    const b = await startReplica(sim, redis.url)
    replicas.push(b)
    expect((await b.running.proxy.provider.getToken()).fingerprint).toBe(first.fingerprint)
    expect(sim.tokenRequests).toBe(1)

    sim.revokeAll()
    // A meets the 401 first: it deletes the shared token, fetches a new one and replays.
    expect((await fetch(`${a.url}${API}/server-time`)).status).toBe(200)
    expect(sim.tokenRequests).toBe(2)
    const second = a.running.proxy.provider.current()
    expect(second?.fingerprint).not.toBe(first.fingerprint)
    // B meets the 401 with the old token: its compare-and-delete must spare A's new token, which B then takes.
    expect((await fetch(`${b.url}${API}/server-time`)).status).toBe(200)
    expect(b.running.proxy.provider.current()?.fingerprint).toBe(second?.fingerprint)
    expect(sim.tokenRequests).toBe(2)
    // A third replica still finds the new token in Redis.
    const c = await startReplica(sim, redis.url)
    replicas.push(c)
    expect((await c.running.proxy.provider.getToken()).fingerprint).toBe(second?.fingerprint)
    expect(sim.tokenRequests).toBe(2)
  })

  it('removes a refused token from Redis, so no replica takes it again, even when no new token can be had', async () => {
    const a = await startReplica(sim, redis.url)
    replicas.push(a)
    await a.running.proxy.provider.getToken()
    expect(await redis.tokenKeys()).toHaveLength(1)
    sim.revokeAll()
    sim.tokenFault = { kind: 'status', status: 503 }
    expect((await fetch(`${a.url}${API}/server-time`)).status).toBe(503)
    expect(await redis.tokenKeys()).toEqual([])
  })
})
