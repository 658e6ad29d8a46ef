import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { API } from './helpers/harness.js'
import { metric, startReplica, type InProcessReplica } from './helpers/fleet.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

describe('a Redis that stops answering (connection open, no replies)', () => {
  let redis: RedisServer
  let sim: CxoneSimulator
  let replica: InProcessReplica

  beforeAll(async () => {
    redis = await startRedis()
    sim = await new CxoneSimulator().start()
    replica = await startReplica(sim, redis.url, { PROXY_REDIS_COMMAND_TIMEOUT_MS: '50' })
    await replica.running.proxy.provider.getToken()
  })
  afterAll(async () => {
    const pid = redis.pid()
    if (pid !== undefined) process.kill(pid, 'SIGCONT')
    await replica.close()
    await sim.stop()
    await redis.stop()
  })

  it('costs a request no more than the per-command timeout: the replica fetches its own token', async () => {
    process.kill(redis.pid() as number, 'SIGSTOP')
    // The next call needs a new token (the API refuses the old one) while every Redis command hangs.
    sim.revokeAll()
    const started = Date.now()
    const res = await fetch(`${replica.url}${API}/server-time`)
    const ms = Date.now() - started
    expect(res.status).toBe(200)
    expect(sim.tokenRequests).toBe(2)
    // Two Redis commands at most wait their 50 ms (drop the refused token, look for a new one); without a
    // deadline the call would hang as long as Redis does.
    expect(ms).toBeLessThan(2000)
    const warn = replica.logs.entries.find((e) => e.msg === 'Redis is unreachable or slow: each replica fetches and holds its own token until it is back')
    expect(warn?.reason).toBe('no answer within 50 ms (PROXY_REDIS_COMMAND_TIMEOUT_MS)')
    expect(metric(await replica.metrics(), 'cxone_proxy_redis_up')).toBe(0)
  })
})
