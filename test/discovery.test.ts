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

  it('refuses a plain-http api_endpoint off loopback, for the api upstream only', async () => {
    nock(ISSUER).get('/.well-known/cxone-configuration').query(true).reply(200, { api_endpoint: 'http://api.example.test', ui_endpoint: 'https://na1.nice-incontact.com', area: 'na1', domain: 'niceincontact.com' })
    const d = discovery(() => 0)
    await expect(d.apiOrigin('t1')).rejects.toMatchObject({ code: 'upstream_not_configured', message: expect.stringContaining('CXONE_API_URL') })
    expect((await d.hosts('t1')).ui).toBe('https://na1.nice-incontact.com')
  })

  it('derives each upstream from the cxone-configuration answer: api_endpoint, ui_endpoint, https://api-de-{area}.{domain}', async () => {
    nock(ISSUER).get('/.well-known/cxone-configuration').query({ tenantId: 't1' }).reply(200, { api_endpoint: 'https://api-na1.niceincontact.com', ui_endpoint: 'https://na1.nice-incontact.com/', area: 'na1', domain: 'niceincontact.com', uhDomain: 'nice-incontact.com' })
    nock(ISSUER).get('/.well-known/cxone-configuration').query({ tenantId: 'gov' }).reply(200, { api_endpoint: 'https://api-na1.nicecxone-gov.com', ui_endpoint: 'https://na1.nicecxone-gov.com', area: 'NA1', domain: 'nicecxone-gov.com' })
    const d = discovery(() => 0)
    expect(await d.hosts('t1')).toEqual({ api: 'https://api-na1.niceincontact.com', ui: 'https://na1.nice-incontact.com', digital: 'https://api-de-na1.niceincontact.com' })
    expect((await d.hosts('gov')).digital).toBe('https://api-de-na1.nicecxone-gov.com')
  })

  it('leaves digital unresolved when area or domain is missing or could smuggle another host', async () => {
    for (const [doc, named] of [
      [{ area: 'na1' }, 'domain=null'],
      [{ area: 'na1', domain: 'evil.example/x' }, 'domain="evil.example/x"'],
      [{ area: 'na1.evil.example#', domain: 'niceincontact.com' }, 'area="na1.evil.example#"'],
      [{ area: 'na1', domain: 'niceincontact.com@evil.example' }, 'domain="niceincontact.com@evil.example"']
    ] as const) {
      nock(ISSUER).get('/.well-known/cxone-configuration').query(true).reply(200, { api_endpoint: 'https://api-na1.niceincontact.com', ...doc })
      const digital = (await discovery(() => 0).hosts('t1')).digital
      expect(digital, JSON.stringify(doc)).toMatchObject({ code: 'upstream_not_configured' })
      expect((digital as Error).message).toContain(named)
      expect((digital as Error).message).toContain('CXONE_DIGITAL_URL')
    }
  })

  it('with CXONE_API_URL discovers nothing: ui and digital come from their settings or name them', async () => {
    const d = new Discovery({ issuer: ISSUER, tokenUrl: undefined, apiUrl: 'https://api-na1.niceincontact.com', uiUrl: 'https://na1.nice-incontact.com/x', fetch: async () => { throw new Error('no fetch expected') }, timeoutMs: 2_000 })
    const hosts = await d.hosts('t1')
    expect(hosts.api).toBe('https://api-na1.niceincontact.com')
    expect(hosts.ui).toBe('https://na1.nice-incontact.com')
    expect(hosts.digital).toMatchObject({ code: 'upstream_not_configured', message: expect.stringContaining('set CXONE_DIGITAL_URL') })
  })
})
