import { describe, expect, it } from 'vitest'
import { API } from './helpers/harness.js'
import { fleetTestbed } from './helpers/fleet.js'

describe('two credentials in one Redis', () => {
  const bed = fleetTestbed()

  it('never see each other\'s tokens: separate keys, separate token requests', async () => {
    const withKey = await bed.replica()
    const a = await withKey.running.proxy.provider.getToken()
    const clientOnly = await bed.replica({ CXONE_ACCESS_KEY_ID: '', CXONE_ACCESS_KEY_SECRET: '' })
    const b = await clientOnly.running.proxy.provider.getToken()
    expect(b.fingerprint).not.toBe(a.fingerprint)
    expect(bed.sim.tokenRequests).toBe(2)
    expect(await bed.redis.tokenKeys()).toHaveLength(2)
  })

  it('a replica with a wrong secret never gets the good token from Redis: it asks, and is refused', async () => {
    const good = await bed.replica()
    await good.running.proxy.provider.getToken()
    const wrong = await bed.replica({ CXONE_ACCESS_KEY_SECRET: 'V3JvbmdBY2Nlc3NLZXlTZWNyZXQwMTIzNDU2Nzg5YWJjZGVm==' })
    const res = await fetch(`${wrong.url}${API}/server-time`)
    expect(res.status).toBe(502)
    expect((await res.json() as { error: { code: string } }).error.code).toBe('token_rejected')
    expect(bed.sim.tokenRequests).toBe(2)
    expect(bed.sim.apiRequests).toHaveLength(0)
  })
})
