import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../src/core/errors.js'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { readRedisTarget } from '../src/token/fleet/redis-url.js'
import { runCli } from './helpers/cli.js'
import { simulatorEnv } from './helpers/harness.js'
import { metric, startReplica, type InProcessReplica } from './helpers/fleet.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

const PASSWORD = 'r3dis-Pa55word-xyz'

describe('REDIS_URL', () => {
  it('is read like a secret: REDIS_URL or REDIS_URL_FILE, never both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-url-'))
    const file = join(dir, 'redis_url')
    writeFileSync(file, `rediss://proxy:${PASSWORD}@redis.example.com:6380/2\n`)
    expect(readRedisTarget({ REDIS_URL_FILE: file })).toEqual({
      url: `rediss://proxy:${PASSWORD}@redis.example.com:6380/2`,
      masked: 'rediss://***:***@redis.example.com:6380/2',
      tls: true,
      hostname: 'redis.example.com'
    })
    expect(readRedisTarget({})).toBeUndefined()
    expect(() => readRedisTarget({ REDIS_URL: 'redis://r', REDIS_URL_FILE: file })).toThrow('both REDIS_URL and REDIS_URL_FILE are set: keep one of them')
  })

  it.each([
    ['http://redis:6379', 'REDIS_URL uses http:// : use redis:// or rediss:// (TLS, certificate verified)'],
    [`redis:${PASSWORD}`, 'REDIS_URL has no host: write it like redis://redis:6379'],
    ['redis:// :x@', 'REDIS_URL is not a URL: write it like redis://:password@redis:6379/0 or rediss://user:password@redis.example.com:6380'],
    [`redis://:${PASSWORD}@redis/cache`, 'REDIS_URL names database "cache": the path must be a database number such as /0']
  ])('%s is refused with the variable and the fix, never the password', (value, message) => {
    let err: unknown
    try { readRedisTarget({ REDIS_URL: value }) } catch (e) { err = e }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as Error).message).toBe(message)
    expect((err as Error).message).not.toContain(PASSWORD)
  })

  it('stops the CLI at start-up (exit 2) when it is wrong', async () => {
    const result = await runCli(['start'], { ...simulatorEnv({ issuer: 'http://127.0.0.1:9' } as CxoneSimulator), REDIS_URL: 'https://redis:6379' })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('REDIS_URL uses https:// : use redis:// or rediss://')
  })

  describe('with a password', () => {
    let redis: RedisServer | undefined
    let sim: CxoneSimulator | undefined
    const replicas: InProcessReplica[] = []
    afterEach(async () => {
      await Promise.all(replicas.splice(0).map(async (r) => { await r.close() }))
      await sim?.stop()
      await redis?.stop()
    })

    it('authenticates, shares the token, and never logs the password', async () => {
      redis = await startRedis({ password: PASSWORD })
      sim = await new CxoneSimulator().start()
      const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`
      const a = await startReplica(sim, url)
      const b = await startReplica(sim, url)
      replicas.push(a, b)
      await a.running.proxy.provider.getToken()
      await b.running.proxy.provider.getToken()
      expect(sim.tokenRequests).toBe(1)
      // Both start at once: whichever takes the lock asks, the other takes its token from Redis.
      expect(metric(await a.metrics(), 'cxone_proxy_fleet_shared_token_hits_total') + metric(await b.metrics(), 'cxone_proxy_fleet_shared_token_hits_total')).toBe(1)
      expect(a.logs.text()).toContain(`"redis":"redis://:***@127.0.0.1:${redis.port}"`)
      expect(a.logs.text() + b.logs.text()).not.toContain(PASSWORD)
    })

    it('a wrong password: served with a local token, one warn line naming the fix', async () => {
      redis = await startRedis({ password: PASSWORD })
      sim = await new CxoneSimulator().start()
      const a = await startReplica(sim, `redis://:wrong-${PASSWORD}@127.0.0.1:${redis.port}`)
      replicas.push(a)
      await a.running.proxy.provider.getToken()
      expect(sim.tokenRequests).toBe(1)
      expect(metric(await a.metrics(), 'cxone_proxy_redis_up')).toBe(0)
      const warns = a.logs.entries.filter((e) => e.level === 40)
      expect(warns.map((e) => e.reason)).toEqual(['authentication refused: check the user and password in REDIS_URL'])
      expect(a.logs.text()).not.toContain(PASSWORD)
    })
  })
})
