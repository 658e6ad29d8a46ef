import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { API } from './helpers/harness.js'
import { metric, startReplica, type InProcessReplica } from './helpers/fleet.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

describe('a shared value that does not decrypt', () => {
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

  it.each([
    ['garbage', () => 'not a sealed token'],
    ['a flipped byte', (v: string) => `${v.slice(0, -3)}${v.at(-3) === 'A' ? 'B' : 'A'}${v.slice(-2)}`]
  ])('(%s) is ignored and replaced with a readable one', async (_name, spoil) => {
    const first = await startReplica(sim, redis.url)
    replicas.push(first)
    await first.running.proxy.provider.getToken()
    const key = (await redis.tokenKeys())[0] as string
    await redis.set(key, spoil(await redis.get(key) as string))

    const second = await startReplica(sim, redis.url)
    replicas.push(second)
    expect((await fetch(`${second.url}${API}/server-time`)).status).toBe(200)
    expect(sim.tokenRequests).toBe(2)
    expect(second.logs.text()).toContain('cannot be decrypted')

    // The replacement is readable: a third replica takes it without asking.
    const third = await startReplica(sim, redis.url)
    replicas.push(third)
    expect((await fetch(`${third.url}${API}/server-time`)).status).toBe(200)
    expect(sim.tokenRequests).toBe(2)
    expect(metric(await third.metrics(), 'cxone_proxy_fleet_shared_token_hits_total')).toBe(1)
  })
})
