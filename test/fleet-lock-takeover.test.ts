import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { API } from './helpers/harness.js'
import { FLEET_TEST_ENV, metric, startReplicas, stopReplicas, type Replica } from './helpers/fleet.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

const TOKEN_TIMEOUT_MS = 4000
/** The fleet lock lives the token request's timeout plus a 1 s margin. */
const LOCK_TTL_MS = TOKEN_TIMEOUT_MS + 1000

async function until<T> (what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('the replica holding the fleet lock dies while asking for a token', () => {
  let redis: RedisServer
  let sim: CxoneSimulator
  let replicas: Replica[] = []

  beforeAll(async () => {
    redis = await startRedis()
    sim = await new CxoneSimulator().start()
  })
  afterAll(async () => {
    await stopReplicas(replicas)
    await sim.stop()
    await redis.stop()
  })

  it('another replica waits, then takes over within the lock\'s lifetime', async () => {
    // The holder's token request never comes back.
    sim.tokenFault = { kind: 'hang' }
    replicas = await startReplicas(sim, redis.url, 2, { ...FLEET_TEST_ENV, CXONE_TOKEN_TIMEOUT_MS: String(TOKEN_TIMEOUT_MS) })
    const firstAt = await until('the first token request', () => sim.tokenRequests >= 1 ? Date.now() : undefined)
    const waiterIndex = await until('a replica waiting on the lock', async () => {
      const waits = await Promise.all(replicas.map(async (r) => metric(await (await fetch(`${r.url}/_proxy/metrics`)).text(), 'cxone_proxy_fleet_lock_waits_total')))
      const i = waits.findIndex((w) => w === 1)
      return i < 0 ? undefined : i
    })
    const waiter = replicas[waiterIndex] as Replica
    const holder = replicas[1 - waiterIndex] as Replica
    sim.tokenFault = undefined
    await holder.cli.stop('SIGKILL')
    expect(sim.tokenRequests).toBe(1)
    // The dead holder's lock is still there: the waiter must sit it out.
    const lockKey = (await redis.keys('*:lock'))[0] as string
    const lockLeftMs = await redis.pttl(lockKey)
    const lockExpiresAt = Date.now() + lockLeftMs
    expect(lockLeftMs).toBeGreaterThan(0)

    const takeoverAt = await until('the takeover\'s token request', () => sim.tokenRequests >= 2 ? Date.now() : undefined, 2 * LOCK_TTL_MS)
    // Not before the dead holder's lock expired (it waited instead of asking at once), and soon after.
    expect(takeoverAt).toBeGreaterThanOrEqual(lockExpiresAt - 250)
    expect(takeoverAt - lockExpiresAt).toBeLessThanOrEqual(1500)
    expect(takeoverAt - firstAt).toBeLessThanOrEqual(LOCK_TTL_MS + 1500)
    expect((await fetch(`${waiter.url}${API}/server-time`)).status).toBe(200)
    expect(sim.tokenRequests).toBe(2)
    expect(metric(await (await fetch(`${waiter.url}/_proxy/metrics`)).text(), 'cxone_proxy_fleet_lock_takeovers_total')).toBe(1)
  }, 40_000)
})
