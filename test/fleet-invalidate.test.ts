import { describe, expect, it } from 'vitest'
import { API } from './helpers/harness.js'
import { fleetTestbed } from './helpers/fleet.js'

describe('an upstream 401 in a fleet', () => {
  const bed = fleetTestbed()

  it('drops the shared token only while it is still the current one: one new token for the whole fleet', async () => {
    const a = await bed.replica()
    const first = await a.running.proxy.provider.getToken()
    const b = await bed.replica()
    expect((await b.running.proxy.provider.getToken()).fingerprint).toBe(first.fingerprint)
    expect(bed.sim.tokenRequests).toBe(1)

    bed.sim.revokeAll()
    // A meets the 401 first: it deletes the shared token, fetches a new one and replays.
    expect((await fetch(`${a.url}${API}/server-time`)).status).toBe(200)
    expect(bed.sim.tokenRequests).toBe(2)
    const second = a.running.proxy.provider.current()
    expect(second?.fingerprint).not.toBe(first.fingerprint)
    // B meets the 401 with the old token: its compare-and-delete must spare A's new token, which B then takes.
    expect((await fetch(`${b.url}${API}/server-time`)).status).toBe(200)
    expect(b.running.proxy.provider.current()?.fingerprint).toBe(second?.fingerprint)
    expect(bed.sim.tokenRequests).toBe(2)
    // A third replica still finds the new token in Redis.
    const c = await bed.replica()
    expect((await c.running.proxy.provider.getToken()).fingerprint).toBe(second?.fingerprint)
    expect(bed.sim.tokenRequests).toBe(2)
  })

  it('removes a refused token from Redis, so no replica takes it again, even when no new token can be had', async () => {
    const a = await bed.replica()
    await a.running.proxy.provider.getToken()
    expect(await bed.redis.tokenKeys()).toHaveLength(1)
    bed.sim.revokeAll()
    bed.sim.tokenFault = { kind: 'status', status: 503 }
    expect((await fetch(`${a.url}${API}/server-time`)).status).toBe(503)
    expect(await bed.redis.tokenKeys()).toEqual([])
  })
})
