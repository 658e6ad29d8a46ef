import { describe, expect, it } from 'vitest'
import { fleetTestbed } from './helpers/fleet.js'
import { sample } from './helpers/metrics.js'

describe('where a replica\'s token came from (issue 25)', () => {
  const bed = fleetTestbed()

  it('a replica that took the token from Redis says so in its log line and its metric, not "token obtained"', async () => {
    const a = await bed.replica()
    const first = await a.running.proxy.provider.getToken()
    const b = await bed.replica()
    expect((await b.running.proxy.provider.getToken()).fingerprint).toBe(first.fingerprint)
    expect(bed.sim.tokenRequests).toBe(1)

    const tokenLine = (logs: typeof a.logs): Record<string, unknown> | undefined => logs.entries.find((e) => e.token === first.fingerprint && /token/.test(String(e.msg)))
    expect(tokenLine(a.logs)).toMatchObject({ msg: 'token obtained', source: 'token_endpoint' })
    expect(tokenLine(b.logs)).toMatchObject({ msg: 'token taken from the fleet (Redis): another replica requested it', source: 'fleet' })
    expect(b.logs.entries.some((e) => e.msg === 'token obtained')).toBe(false)

    const metricsA = await a.metrics()
    const metricsB = await b.metrics()
    expect(sample(metricsA, 'cxone_proxy_fleet_tokens_total', { source: 'token_endpoint' })).toBe(1)
    expect(sample(metricsA, 'cxone_proxy_fleet_tokens_total', { source: 'redis' })).toBe(0)
    expect(sample(metricsB, 'cxone_proxy_fleet_tokens_total', { source: 'redis' })).toBe(1)
    expect(sample(metricsB, 'cxone_proxy_fleet_tokens_total', { source: 'token_endpoint' })).toBe(0)
  })
})
