import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import type { FetchFn } from '../src/token/token-client.js'
import { expectNoSecrets, runCheckAgainst } from './helpers/check.js'

function causes (text: string): string[] {
  return [...text.matchAll(/^ {2}\d+\. (.*)$/gm)].map((m) => m[1] as string)
}

/** A fetch that fails like undici does when the network fails, for one path only. */
function failingOn (path: string, code: string): (real: FetchFn) => FetchFn {
  return (real) => async (url, init) => {
    if (new URL(url).pathname !== path) return await real(url, init)
    throw new TypeError('fetch failed', { cause: Object.assign(new Error(`${code} simulated`), { code }) })
  }
}

describe('check when the token endpoint is not CXone\'s, or unreachable', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator().start() })
  afterEach(() => { sim.tokenFault = undefined })
  afterAll(async () => { await sim.stop() })

  it('an HTML answer: wrong URL or region first, with the issuers to use', async () => {
    sim.tokenFault = { kind: 'html' }
    const before = sim.tokenRequests
    const run = await runCheckAgainst(sim, { probe: true })
    expect(run.code).toBe(1)
    expect(run.text).toContain('[FAIL] token response: 200 an HTML page')
    expect(run.text).toMatch(/excerpt: +Sign in$/m)
    expect(causes(run.text)).toEqual([
      `[not_a_token_endpoint] ${sim.origin}/auth/token is not CXone's token endpoint: wrong URL or region`,
      '[intermediary_answered] a corporate proxy, captive portal or login page answered instead of CXone'
    ])
    expect(run.text).toContain('fix: set CXONE_ISSUER to your region\'s URL: the commercial issuer is https://cxone.niceincontact.com')
    // No variant can be judged from a non-OAuth answer, so the probe sends nothing.
    expect(sim.tokenRequests - before).toBe(1)
    expect(run.text).toContain('no conclusion: the token endpoint gave no OAuth answer')
    expectNoSecrets(run)
  })

  it('an empty answer: wrong URL or region, naming CXONE_TOKEN_URL when it is set', async () => {
    sim.tokenFault = { kind: 'empty' }
    const run = await runCheckAgainst(sim, { env: { CXONE_TOKEN_URL: `${sim.origin}/auth/token` } })
    expect(run.code).toBe(1)
    expect(run.text).toMatch(/^\[skip\] issuer discovery: not needed: CXONE_TOKEN_URL is set \(env\)$/m)
    expect(run.text).toContain('[FAIL] token response: 200 an empty body')
    expect(run.text).toContain('fix: set CXONE_TOKEN_URL (or unset it to discover it from CXONE_ISSUER) to your region\'s URL')
  })

  it('an issuer that is not CXone (no discovery document): wrong URL or region', async () => {
    const before = sim.tokenRequests
    const run = await runCheckAgainst(sim, { env: { CXONE_ISSUER: `${sim.origin}/not-an-issuer` } })
    expect(run.code).toBe(1)
    expect(run.text).toContain(`[FAIL] issuer discovery: GET ${sim.origin}/not-an-issuer/.well-known/openid-configuration → 404 not_found`)
    expect(causes(run.text)[0]).toBe(`[not_an_issuer] ${sim.origin}/not-an-issuer/.well-known/openid-configuration is not a CXone issuer (no OpenID discovery document): wrong URL or region`)
    expect(sim.tokenRequests).toBe(before)
  })

  it('a 503: the server is failing, retry later', async () => {
    sim.tokenFault = { kind: 'status', status: 503, retryAfter: '30' }
    const run = await runCheckAgainst(sim)
    expect(run.code).toBe(1)
    expect(causes(run.text)).toEqual(['[server_failing] the server is failing (503)'])
    expect(run.text).toContain('fix: retry later (it asked for Retry-After: 30)')
  })

  it('a timeout: names the firewall or proxy, then the timeout setting', async () => {
    sim.tokenFault = { kind: 'hang' }
    const run = await runCheckAgainst(sim, { env: { CXONE_TOKEN_TIMEOUT_MS: '200', HTTPS_PROXY: 'http://proxy.example:3128' } })
    expect(run.code).toBe(1)
    expect(run.text).toContain('[FAIL] token response: no answer: no answer within 200 ms')
    expect(causes(run.text)).toEqual([
      `[network_timeout] no answer from ${new URL(sim.origin).host} within 200 ms: a firewall drops the traffic, or outbound HTTPS must go through a proxy; HTTPS_PROXY is set: token and discovery requests go through it, so check that the proxy it names is reachable`,
      '[endpoint_slow] the network or the server is only slow'
    ])
    expect(run.text).toContain('fix: raise CXONE_TOKEN_TIMEOUT_MS')
  })

  it('a DNS failure at issuer discovery: names the host and the variable', async () => {
    const run = await runCheckAgainst(sim, { fetch: failingOn('/.well-known/openid-configuration', 'ENOTFOUND') })
    expect(run.code).toBe(1)
    expect(causes(run.text)).toEqual([`[dns_failure] DNS lookup of ${new URL(sim.origin).host} failed: the host name is mistyped or for another region, or this machine cannot resolve it`])
    expect(run.text).toContain('fix: check CXONE_ISSUER')
  })

  it('a TLS failure at the token endpoint: NODE_EXTRA_CA_CERTS, never verification off', async () => {
    const run = await runCheckAgainst(sim, { fetch: failingOn('/auth/token', 'SELF_SIGNED_CERT_IN_CHAIN') })
    expect(run.code).toBe(1)
    expect(causes(run.text)[0]).toMatch(/^\[tls_untrusted\] the TLS certificate of .* is not trusted \(TLS certificate not trusted \(SELF_SIGNED_CERT_IN_CHAIN\)/)
    expect(run.text).toContain('fix: point NODE_EXTRA_CA_CERTS at your organisation\'s CA bundle; never turn TLS verification off')
  })

  it('a discovered plain-http token endpoint off loopback: refused before any credential is sent', async () => {
    const tokenRequestsBefore = sim.tokenRequests
    const run = await runCheckAgainst(sim, {
      fetch: (real) => async (url, init) => new URL(url).pathname === '/.well-known/openid-configuration'
        ? new Response(JSON.stringify({ token_endpoint: 'http://cxone.example.com/auth/token' }), { status: 200, headers: { 'content-type': 'application/json' } })
        : await real(url, init)
    })
    expect(run.code).toBe(1)
    expect(causes(run.text)).toEqual(['[discovered_url_plain_http] token_endpoint=http://cxone.example.com/auth/token is a plain-http endpoint off loopback: credentials would travel unencrypted'])
    expect(run.text).toContain('fix: set CXONE_TOKEN_URL to the https:// URL')
    expect(run.fetched.some((u) => u.includes('cxone.example.com'))).toBe(false)
    expect(sim.tokenRequests).toBe(tokenRequestsBefore)
  })
})
