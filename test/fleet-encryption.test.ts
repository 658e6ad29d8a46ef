import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator, DEMO_CREDENTIALS } from '../src/simulator/simulator.js'
import { fingerprint } from '../src/token/token-client.js'
import { startReplica, type InProcessReplica } from './helpers/fleet.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

describe('what a fleet stores in Redis', () => {
  let redis: RedisServer
  let sim: CxoneSimulator
  let replica: InProcessReplica

  beforeAll(async () => {
    redis = await startRedis()
    sim = await new CxoneSimulator().start()
    replica = await startReplica(sim, redis.url)
    await replica.running.proxy.provider.getToken()
  })
  afterAll(async () => {
    await replica.close()
    await sim.stop()
    await redis.stop()
  })

  it('is encrypted: the raw value holds neither the token nor any secret, in any common encoding', async () => {
    // Besides the token: at most the fleet lock of a request still finishing, named after the same key.
    const keys = (await redis.keys('*')).filter((k) => !k.endsWith(':lock'))
    expect(keys).toHaveLength(1)
    const key = keys[0] as string
    const raw = await redis.get(key) as string
    const token = sim.issuedTokens()[0] as string
    expect(token).toBeDefined()
    const secrets = [token, ...token.split('.'), ...Object.values(DEMO_CREDENTIALS)]
    const forms = secrets.flatMap((s) => [s, Buffer.from(s).toString('base64'), Buffer.from(s).toString('base64url'), Buffer.from(s).toString('hex'), encodeURIComponent(s)])
    for (const form of forms) {
      expect(raw).not.toContain(form)
      expect(key).not.toContain(form)
    }
    // Nor the token's claims (tenant id), nor its fingerprint: the key name and value say nothing about it.
    expect(raw + key).not.toContain(sim.options.tenantId)
    expect(raw + key).not.toContain(fingerprint(token))
    expect(raw).toMatch(/^v1\.[\w-]+$/)
  })

  it('expires in Redis with the token\'s usable lifetime', async () => {
    const key = (await redis.tokenKeys())[0] as string
    const ttlMs = await redis.pttl(key)
    // 3600 s tokens: usable until expiry less the skew (30 s) and the whole second lost to rounding.
    expect(ttlMs).toBeGreaterThan(3_560_000)
    expect(ttlMs).toBeLessThanOrEqual(3_570_000)
  })
})
