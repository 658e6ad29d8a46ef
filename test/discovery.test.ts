import nock from 'nock'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Discovery } from '../src/token/discovery.js'
import { settle } from './helpers/manual-clock.js'

const ISSUER = 'https://issuer.example.test'

describe('API origin discovery', () => {
  beforeAll(() => { nock.disableNetConnect() })
  afterEach(() => { nock.cleanAll() })
  afterAll(() => { nock.enableNetConnect(); nock.restore() })

  function discovery (now: () => number): Discovery {
    return new Discovery({ issuer: ISSUER, tokenUrl: undefined, apiUrl: undefined, fetch: async (u, i) => await globalThis.fetch(u, i), timeoutMs: 2_000, now })
  }

  it('caches the origin per tenant: one look-up for many callers', async () => {
    const scope = nock(ISSUER).get('/.well-known/cxone-configuration').query({ tenantId: 't1' }).once().reply(200, { api_endpoint: 'https://api-na1.example.test/' })
    const d = discovery(() => 0)
    const origins = await Promise.all(Array.from({ length: 20 }, async () => await d.apiOrigin('t1')))
    expect(new Set(origins)).toEqual(new Set(['https://api-na1.example.test']))
    expect(d.knownApiOrigin('t1')).toBe('https://api-na1.example.test')
    expect(scope.isDone()).toBe(true)
  })

  it('after an hour, keeps serving the known origin while it looks again, and keeps it when the look-up fails', async () => {
    // lru-cache reads a start time of 0 as "no time-to-live": start the clock elsewhere.
    let t = 1_000_000
    nock(ISSUER).get('/.well-known/cxone-configuration').query(true).once().reply(200, { api_endpoint: 'https://api-na1.example.test' })
    const d = discovery(() => t)
    await d.apiOrigin('t1')
    const failing = nock(ISSUER).get('/.well-known/cxone-configuration').query(true).reply(503, 'down')
    t += 2 * 60 * 60 * 1000
    expect(d.knownApiOrigin('t1')).toBe('https://api-na1.example.test')
    await new Promise((resolve) => setTimeout(resolve, 100))
    await settle()
    expect(failing.isDone()).toBe(true)
    expect(d.knownApiOrigin('t1')).toBe('https://api-na1.example.test')
  })

  it('refuses a plain-http api_endpoint off loopback', async () => {
    nock(ISSUER).get('/.well-known/cxone-configuration').query(true).reply(200, { api_endpoint: 'http://api.example.test' })
    await expect(discovery(() => 0).apiOrigin('t1')).rejects.toMatchObject({ code: 'discovery_failed' })
  })
})
