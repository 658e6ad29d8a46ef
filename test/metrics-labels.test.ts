import { Counter, Histogram, Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fleetMetrics } from '../src/ops/fleet-metrics.js'
import { InPlaceCounter, InPlaceHistogram } from '../src/ops/in-place.js'
import { Metrics } from '../src/ops/metrics.js'
import type { TokenProvider } from '../src/token/token-provider.js'
import { startStack, type Stack } from './helpers/harness.js'
import { sample } from './helpers/metrics.js'

const provider = { status: () => ({ ready: false }) } as unknown as TokenProvider
const twoProfiles = (): Metrics => new Metrics(() => [{ name: 'default', provider, upstreams: ['api', 'digital'] }, { name: 'bu-two', provider, upstreams: ['api'] }])

describe('metrics: labels, first series, names (issue 25)', () => {
  it('in-place counters and histograms print what prom-client\'s own print for the same events', async () => {
    const ours = new Registry()
    const theirs = new Registry()
    const c = new InPlaceCounter('c_total', 'help', ['a', 'b'], ours)
    const pc = new Counter({ name: 'c_total', help: 'help', labelNames: ['a', 'b'], registers: [theirs] })
    const h = new InPlaceHistogram('h_seconds', 'help', ['a'], [0.1, 1, 10], ours)
    const ph = new Histogram({ name: 'h_seconds', help: 'help', labelNames: ['a'], buckets: [0.1, 1, 10], registers: [theirs] })
    for (const [a, b] of [['x', 'y'], ['x', 'y'], ['x', 'z']] as const) { c.child(a, b).value++; pc.inc({ a, b }) }
    for (const v of [0.05, 0.1, 0.5, 3, 100]) { h.child('x').observe(v); ph.observe({ a: 'x' }, v) }
    expect(await ours.metrics()).toBe(await theirs.metrics())
  })

  it('every counter with a known label set has its series at 0 before the first event, for each profile', async () => {
    const text = await twoProfiles().text()
    for (const profile of ['default', 'bu-two']) {
      expect(sample(text, 'cxone_proxy_rejected_total', { profile, reason: 'rate_limited' })).toBe(0)
      expect(sample(text, 'cxone_proxy_token_requests_total', { profile, outcome: 'success', oauth_error: 'none' })).toBe(0)
      expect(sample(text, 'cxone_proxy_upstream_401_total', { profile })).toBe(0)
      expect(sample(text, 'cxone_proxy_coalesced_total', { profile })).toBe(0)
      expect(sample(text, 'cxone_proxy_cache_requests_total', { profile, result: 'hit' })).toBe(0)
      expect(sample(text, 'cxone_proxy_shield_armed_total', { profile, upstream: 'api' })).toBe(0)
    }
    expect(sample(text, 'cxone_proxy_shield_armed_total', { profile: 'default', upstream: 'digital' })).toBe(0)
    expect(sample(text, 'cxone_proxy_config_reloads_total', { outcome: 'failed' })).toBe(0)
  })

  it('refusals and cache bytes are each counted under their profile', async () => {
    const m = twoProfiles()
    m.rejected('too_busy', 'bu-two')
    m.watchCache('default', () => 100)
    m.watchCache('bu-two', () => 7)
    const text = await m.text()
    expect(sample(text, 'cxone_proxy_rejected_total', { profile: 'bu-two', reason: 'too_busy' })).toBe(1)
    expect(sample(text, 'cxone_proxy_rejected_total', { profile: 'default', reason: 'too_busy' })).toBe(0)
    expect(sample(text, 'cxone_proxy_cache_bytes', { profile: 'default' })).toBe(100)
    expect(sample(text, 'cxone_proxy_cache_bytes', { profile: 'bu-two' })).toBe(7)
  })

  it('keeps prom-client\'s default names, process_* and nodejs_*, as stock dashboards query them', async () => {
    const text = await twoProfiles().text()
    expect(sample(text, 'process_cpu_user_seconds_total')).toEqual(expect.any(Number))
    expect(sample(text, 'nodejs_heap_size_used_bytes')).toEqual(expect.any(Number))
    expect(text).not.toContain('cxone_proxy_process_')
    expect(text).not.toContain('cxone_proxy_nodejs_')
  })

  it('fleet metrics: one series per profile, each at 0 from its start', async () => {
    const registry = new Registry()
    const forProfile = fleetMetrics(registry)
    forProfile('default').sharedHit()
    forProfile('bu-two')
    const text = await registry.metrics()
    expect(sample(text, 'cxone_proxy_fleet_shared_token_hits_total', { profile: 'default' })).toBe(1)
    expect(sample(text, 'cxone_proxy_fleet_shared_token_hits_total', { profile: 'bu-two' })).toBe(0)
    expect(sample(text, 'cxone_proxy_redis_errors_total', { profile: 'bu-two', operation: 'read' })).toBe(0)
    expect(sample(text, 'cxone_proxy_redis_up', { profile: 'bu-two' })).toBe(0)
  })

  describe('the admin listener', () => {
    let stack: Stack
    beforeAll(async () => { stack = await startStack({ env: { PROXY_ADMIN_PORT: '0', PROXY_ADMIN_HOST: '127.0.0.1' } }) })
    afterAll(async () => { await stack.close() })

    it('counts its probes under profile="_admin", never under a business unit', async () => {
      const admin = stack.running.adminUrl ?? ''
      expect((await fetch(`${admin}/_proxy/healthz`)).status).toBe(200)
      const text = await (await fetch(`${admin}/_proxy/metrics`)).text()
      expect(sample(text, 'cxone_proxy_requests_total', { profile: '_admin', route_class: 'admin', status: '200' })).toBe(1)
      expect(sample(text, 'cxone_proxy_requests_total', { profile: 'default', route_class: 'admin' })).toBeUndefined()
    })
  })
})
