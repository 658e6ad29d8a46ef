import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { makeCerts, type Certs } from './helpers/certs.js'
import { API } from './helpers/harness.js'
import { FLEET_TEST_ENV, metric, startReplicas, stopReplicas, type Replica } from './helpers/fleet.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

describe('rediss:// (TLS)', () => {
  let certs: Certs
  let redis: RedisServer | undefined
  let sim: CxoneSimulator | undefined
  let replicas: Replica[] = []

  beforeAll(() => { certs = makeCerts() })
  afterEach(async () => {
    await stopReplicas(replicas)
    replicas = []
    await sim?.stop()
    await redis?.stop()
  })

  it('shares the token with a Redis whose certificate is trusted (a private CA through NODE_EXTRA_CA_CERTS)', async () => {
    redis = await startRedis({ tls: { certFile: join(certs.dir, 'server.pem'), keyFile: join(certs.dir, 'server.key') } })
    sim = await new CxoneSimulator().start()
    replicas = await startReplicas(sim, redis.url, 2, { ...FLEET_TEST_ENV, NODE_EXTRA_CA_CERTS: certs.caFile })
    for (const r of replicas) expect((await fetch(`${r.url}${API}/server-time`)).status).toBe(200)
    expect(sim.tokenRequests).toBe(1)
    for (const r of replicas) expect(metric(await (await fetch(`${r.url}/_proxy/metrics`)).text(), 'cxone_proxy_redis_up')).toBe(1)
  }, 60_000)

  it('refuses a Redis whose certificate is not trusted, and serves with a local token', async () => {
    redis = await startRedis({ tls: { certFile: join(certs.dir, 'self.pem'), keyFile: join(certs.dir, 'self.key') } })
    sim = await new CxoneSimulator().start()
    replicas = await startReplicas(sim, redis.url, 1, FLEET_TEST_ENV)
    const [r] = replicas as [Replica]
    expect((await fetch(`${r.url}${API}/server-time`)).status).toBe(200)
    expect(metric(await (await fetch(`${r.url}/_proxy/metrics`)).text(), 'cxone_proxy_redis_up')).toBe(0)
    const warn = r.cli.output().split('\n').find((l) => l.includes('Redis is unreachable or slow'))
    expect(warn).toContain('TLS certificate not trusted')
  }, 60_000)
})
