import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { API } from './helpers/harness.js'
import { startReplica, type InProcessReplica } from './helpers/fleet.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

describe('two credentials in one Redis', () => {
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

  it('never see each other\'s tokens: separate keys, separate token requests', async () => {
    const withKey = await startReplica(sim, redis.url)
    replicas.push(withKey)
    const a = await withKey.running.proxy.provider.getToken()
    const clientOnly = await startReplica(sim, redis.url, { CXONE_ACCESS_KEY_ID: '', CXONE_ACCESS_KEY_SECRET: '' })
    replicas.push(clientOnly)
    const b = await clientOnly.running.proxy.provider.getToken()
    expect(b.fingerprint).not.toBe(a.fingerprint)
    expect(sim.tokenRequests).toBe(2)
    expect(await redis.tokenKeys()).toHaveLength(2)
  })

  it('a replica with a wrong secret never gets the good token from Redis: it asks, and is refused', async () => {
    const good = await startReplica(sim, redis.url)
    replicas.push(good)
    await good.running.proxy.provider.getToken()
    const wrong = await startReplica(sim, redis.url, { CXONE_ACCESS_KEY_SECRET: 'V3JvbmdBY2Nlc3NLZXlTZWNyZXQwMTIzNDU2Nzg5YWJjZGVm==' })
    replicas.push(wrong)
    const res = await fetch(`${wrong.url}${API}/server-time`)
    expect(res.status).toBe(502)
    expect((await res.json() as { error: { code: string } }).error.code).toBe('token_rejected')
    expect(sim.tokenRequests).toBe(2)
    expect(sim.apiRequests).toHaveLength(0)
  })
})
