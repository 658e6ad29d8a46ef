import { describe, expect, it } from 'vitest'
import { API } from './helpers/harness.js'
import { fleetTestbed, metric } from './helpers/fleet.js'

describe('a shared value that does not decrypt', () => {
  const bed = fleetTestbed()

  it.each([
    ['garbage', () => 'not a sealed token'],
    ['a flipped byte', (v: string) => `${v.slice(0, -3)}${v.at(-3) === 'A' ? 'B' : 'A'}${v.slice(-2)}`]
  ])('(%s) is ignored and replaced with a readable one', async (_name, spoil) => {
    const first = await bed.replica()
    await first.running.proxy.provider.getToken()
    const key = (await bed.redis.tokenKeys())[0] as string
    await bed.redis.set(key, spoil(await bed.redis.get(key) as string))

    const second = await bed.replica()
    expect((await fetch(`${second.url}${API}/server-time`)).status).toBe(200)
    expect(bed.sim.tokenRequests).toBe(2)
    expect(second.logs.text()).toContain('cannot be decrypted')

    // The replacement is readable: a third replica takes it without asking.
    const third = await bed.replica()
    expect((await fetch(`${third.url}${API}/server-time`)).status).toBe(200)
    expect(bed.sim.tokenRequests).toBe(2)
    expect(metric(await third.metrics(), 'cxone_proxy_fleet_shared_token_hits_total')).toBe(1)
  })
})
