import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_CREDENTIALS } from '../src/simulator/simulator.js'
import { effectiveSettings } from '../src/runtime/server.js'
import { API, startStack, type Stack } from './helpers/harness.js'
import { closedPort } from './helpers/run-process.js'

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
const KEYS = ['first-inbound-key', 'second-inbound-key']

describe('GET /_proxy/status.json', () => {
  let stack: Stack
  let admin: string
  let deadOrigin: string
  beforeAll(async () => {
    deadOrigin = `http://127.0.0.1:${await closedPort()}`
    stack = await startStack({ sim: { apiEndpoint: deadOrigin }, env: { PROXY_ADMIN_PORT: '0', PROXY_ADMIN_HOST: '127.0.0.1', PROXY_API_KEYS: KEYS.join(',') } })
    admin = stack.running.adminUrl ?? ''
  })
  afterAll(async () => { await stack.close() })

  it('reports the token, the resolved API origin, the traffic and the last proxy errors with their request ids', async () => {
    const failed = await fetch(`${stack.url}${API}/skills/activity?top=1`, { headers: { 'x-proxy-key': KEYS[1] as string, 'x-request-id': 'status-json-502' } })
    expect(failed.status).toBe(502)
    const failedBody = await failed.json() as { error: { code: string, message: string } }
    const refused = await fetch(`${stack.url}/_proxy/status.json`, { headers: { 'x-request-id': 'status-json-401' } })
    expect(refused.status).toBe(401)
    expect(await refused.json()).toEqual({ error: { code: 'proxy_auth_required', message: 'this proxy needs a key: send one of PROXY_API_KEYS as the X-Proxy-Key header' } })

    const r = await fetch(`${admin}/_proxy/status.json`)
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toBe('no-store')
    const body = await r.json() as { profiles: Array<{ traffic: { minutes: Array<{ requests: number, statuses: Record<string, number>, errors: Record<string, number> }> } }> }
    expect(body).toEqual({
      service: 'cxone-auth-proxy',
      now: ISO,
      profiles: [{
        name: 'default',
        token: {
          state: 'valid',
          fingerprint: stack.running.proxy.provider.current()?.fingerprint,
          obtainedAt: ISO,
          expiresAt: ISO,
          expiresInSec: expect.any(Number),
          nextRefreshAt: ISO,
          failures: 0,
          nextAttemptAt: null,
          lastError: null
        },
        upstreams: { issuer: stack.sim.issuer, api: { origin: deadOrigin, from: 'discovered' } },
        // Issue 25: every routed upstream, and the calls to CXone beside those spared.
        routedUpstreams: { digital: expect.any(Object), ui: expect.any(Object), api: { origin: deadOrigin } },
        traffic: {
          windowMinutes: 15,
          minutes: expect.any(Array),
          quota: expect.any(Array),
          recentErrors: [
            { at: ISO, reqId: 'status-json-401', method: 'GET', path: '/_proxy/status.json', status: 401, code: 'proxy_auth_required', message: 'this proxy needs a key: send one of PROXY_API_KEYS as the X-Proxy-Key header' },
            { at: ISO, reqId: 'status-json-502', method: 'GET', path: `${API}/skills/activity`, status: 502, code: 'destination_unavailable', message: failedBody.error.message }
          ]
        }
      }],
      settings: JSON.parse(JSON.stringify(effectiveSettings(stack.config)))
    })
    const minutes = body.profiles[0]?.traffic.minutes ?? []
    expect(minutes).toHaveLength(15)
    // The proxy's own endpoints are not traffic; their refusals are still proxy errors.
    expect(minutes.reduce((n, m) => n + m.requests, 0)).toBe(1)
    expect(minutes.flatMap((m) => Object.entries(m.statuses))).toEqual([['502', 1]])
    expect(minutes.flatMap((m) => Object.entries(m.errors)).sort()).toEqual([['destination_unavailable', 1], ['proxy_auth_required', 1]])
  })

  it('serves the same data on the main listener to a caller with an inbound key', async () => {
    const main = await fetch(`${stack.url}/_proxy/status.json`, { headers: { 'x-proxy-key': KEYS[0] as string } })
    expect(main.status).toBe(200)
    const fromAdmin = await (await fetch(`${admin}/_proxy/status.json`)).json() as { now: string, profiles: Array<{ token: { expiresInSec: number } }> }
    const fromMain = await main.json() as typeof fromAdmin
    for (const b of [fromAdmin, fromMain]) {
      b.now = 'x'
      for (const p of b.profiles) p.token.expiresInSec = 0
    }
    expect(fromMain).toEqual(fromAdmin)
  })

  it('never carries a secret, a token or an inbound key: only where each secret came from', async () => {
    const text = await (await fetch(`${admin}/_proxy/status.json`)).text()
    for (const secret of [DEMO_CREDENTIALS.clientId, DEMO_CREDENTIALS.clientSecret, DEMO_CREDENTIALS.accessKeyId, DEMO_CREDENTIALS.accessKeySecret, ...KEYS, ...stack.sim.issuedTokens()]) {
      expect(text).not.toContain(secret)
    }
    const settings = (JSON.parse(text) as { settings: Record<string, unknown> }).settings
    expect(settings.secrets).toEqual({ CXONE_CLIENT_ID: 'env', CXONE_CLIENT_SECRET: 'env', CXONE_ACCESS_KEY_ID: 'env', CXONE_ACCESS_KEY_SECRET: 'env', PROXY_API_KEYS: 'env' })
    expect(settings.inboundKeys).toBe(2)
  })
})

describe('GET /_proxy/status.json while the credentials are rejected', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ waitForToken: false, env: { CXONE_CLIENT_SECRET: 'not-the-secret' } })
    await stack.running.proxy.provider.getToken().catch(() => { /* the rejection is what is reported */ })
  })
  afterAll(async () => { await stack.close() })

  it('shows the token as failing, with the last error, when it happened and the next attempt', async () => {
    const body = await (await fetch(`${stack.url}/_proxy/status.json`)).json() as { profiles: Array<{ token: unknown, upstreams: unknown }> }
    const error = stack.running.proxy.provider.status().lastError
    expect(error?.code).toBe('token_rejected')
    expect(body.profiles[0]?.token).toEqual({
      state: 'failing',
      fingerprint: null,
      obtainedAt: null,
      expiresAt: null,
      expiresInSec: null,
      nextRefreshAt: null,
      failures: 1,
      nextAttemptAt: ISO,
      lastError: { code: 'token_rejected', message: error?.message, at: ISO }
    })
    expect(body.profiles[0]?.upstreams).toEqual({ issuer: stack.sim.issuer, api: null })
  })
})
