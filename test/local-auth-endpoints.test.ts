import { afterEach, describe, expect, it } from 'vitest'
import { admit, compileRules } from '../src/proxy/admission.js'
import { mayAsk, type Identify } from '../src/proxy/local-grants.js'
import { loadConfig } from '../src/core/config.js'
import { createPlaceholderKey, issuePlaceholder } from '../src/token/placeholder.js'
import { startStack, type Stack } from './helpers/harness.js'

// Issue 23: the local auth endpoints answer in CXone's shapes; with callers (issue 22's hook), credentials identify.

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

async function stackOf (env: Record<string, string> = {}, identify?: Identify): Promise<Stack> {
  const stack = await startStack({ env: { PROXY_LOCAL_AUTH: 'true', ...env }, deps: identify === undefined ? {} : { identify: () => identify } })
  cleanups.push(stack.close)
  return stack
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
const claimsOf = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>

async function post (url: string, headers: Record<string, string>, body: string): Promise<{ status: number, body: Record<string, unknown>, headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers, body })
  return { status: res.status, body: await res.json() as Record<string, unknown>, headers: res.headers }
}

const CALLER: Identify = (name, secret) => name === 'nightly-export' && secret === 'k3y+/=' ? 'nightly-export' : undefined

describe('POST /auth/token without callers', () => {
  it('answers every grant in CXone\'s shape, no-store, and CXone sees one token request for all of them', async () => {
    const s = await stackOf()
    const answers = [
      await post(`${s.url}/auth/token`, { ...FORM, authorization: basic('any', 'thing') }, 'grant_type=password&username=a&password=b'),
      await post(`${s.url}/auth/token`, FORM, 'grant_type=password&client_id=x&client_secret=y&username=a&password=b'),
      await post(`${s.url}/auth/token`, FORM, 'grant_type=client_credentials')
    ]
    for (const a of answers) {
      expect(a.status).toBe(200)
      expect(Object.keys(a.body).sort()).toEqual(['access_token', 'expires_in', 'id_token', 'issued_token_type', 'refresh_token', 'token_type'])
      expect(a.body).toMatchObject({ token_type: 'Bearer', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' })
      expect(a.headers.get('cache-control')).toBe('no-store')
      expect(claimsOf(a.body.access_token as string)).toMatchObject({ iss: s.url, tenantId: s.sim.options.tenantId, icBUId: 4600001, icClusterId: 'SIM1', area: 'na1', profile: 'default', use: 'access' })
    }
    const refreshed = await post(`${s.url}/auth/token`, FORM, `grant_type=refresh_token&refresh_token=${answers[0]?.body.refresh_token as string}`)
    expect(refreshed.status).toBe(200)
    expect(s.sim.tokenRequests).toBe(1)
  })

  it('refuses what CXone refuses, in its shape', async () => {
    const s = await stackOf()
    const access = (await post(`${s.url}/auth/token`, FORM, 'grant_type=password&username=a&password=b')).body.access_token as string
    expect(await post(`${s.url}/auth/token`, FORM, `grant_type=refresh_token&refresh_token=${access}`)).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid refresh token' } })
    expect(await post(`${s.url}/auth/token`, FORM, 'grant_type=authorization_code&code=x')).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } })
    expect(await post(`${s.url}/auth/token`, { 'content-type': 'application/json' }, '{"grant_type":"password"}')).toMatchObject({ status: 400, body: { error: 'invalid_request' } })
    expect(await post(`${s.url}/public/user/refresh`, FORM, 'token=nope')).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    expect(await post(`${s.url}/auth/token`, { 'content-type': '' }, 'grant_type=password')).toMatchObject({ status: 400, body: { error: 'invalid_request' } })
    expect(await post(`${s.url}/auth/token`, FORM, `grant_type=password&pad=${'a'.repeat(20_000)}`)).toEqual(expect.objectContaining({ status: 413, body: { error: 'invalid_request', error_description: 'the request body is larger than 16384 bytes' } }))
    // A stale bearer sent along to the token endpoint does not stop the client getting a new token.
    expect((await post(`${s.url}/auth/token`, { ...FORM, authorization: `Bearer ${access.slice(0, -2)}xx` }, 'grant_type=password&username=a&password=b')).status).toBe(200)
    const get = await fetch(`${s.url}/auth/token`)
    expect([get.status, get.headers.get('allow'), await get.json()]).toEqual([405, 'POST', { error: 'invalid_request', error_description: 'use POST' }])
    expect(s.sim.tokenRequests).toBe(1)
  })

  it('the UserHub endpoint takes JSON or a form; its refresh takes `token` and keeps the answer\'s shape', async () => {
    const s = await stackOf()
    const json = await post(`${s.url}/authentication/v1/token/access-key`, { 'content-type': 'application/json' }, '{"accessKeyId":"a","accessKeySecret":"b"}')
    const form = await post(`${s.url}/authentication/v1/token/access-key`, FORM, 'accessKeyId=a&accessKeySecret=b')
    const again = await post(`${s.url}/public/user/refresh`, { 'content-type': 'application/json' }, JSON.stringify({ token: form.body.refresh_token }))
    for (const a of [json, form, again]) {
      expect(a.status).toBe(200)
      expect(Object.keys(a.body).sort()).toEqual(['access_token', 'expires_in', 'id_token', 'refresh_token', 'token_type'])
    }
  })

  it('is answered, not forwarded, with PROXY_READ_ONLY=true (route rules are about what is forwarded)', async () => {
    const s = await stackOf({ PROXY_READ_ONLY: 'true' })
    expect((await post(`${s.url}/auth/token`, FORM, 'grant_type=password&username=a&password=b')).status).toBe(200)
    expect((await fetch(`${s.url}/inContactAPI/services/v31.0/agents/states`, { method: 'POST' })).status).toBe(403)
  })

  it('is only for loopback callers, unless inbound keys are set or callers are configured', () => {
    expect([mayAsk('127.0.0.1', false, undefined), mayAsk('::ffff:127.0.0.1', false, undefined), mayAsk('::1', false, undefined)]).toEqual([true, true, true])
    expect([mayAsk('10.1.2.3', false, undefined), mayAsk(undefined, false, undefined)]).toEqual([false, false])
    expect([mayAsk('10.1.2.3', true, undefined), mayAsk('10.1.2.3', false, CALLER)]).toEqual([true, true])
  })
})

describe('the discovery documents', () => {
  it('name the proxy as issuer, token endpoint and every URL; the tenant\'s own area, cluster, domain and tenantId', async () => {
    const s = await stackOf()
    expect(await (await fetch(`${s.url}/.well-known/openid-configuration`)).json()).toEqual({
      issuer: s.url,
      token_endpoint: `${s.url}/auth/token`,
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      grant_types_supported: ['password', 'client_credentials', 'refresh_token'],
      response_types_supported: ['token']
    })
    const tenantId = s.sim.options.tenantId
    expect(await (await fetch(`${s.url}/.well-known/cxone-configuration?tenantId=${tenantId}`)).json()).toEqual({ tenantId, area: 'na1', cluster: 'SIM1', domain: 'cxone-simulator.test', api_endpoint: s.url, ui_endpoint: s.url, auth_endpoint: s.url })
    const other = await fetch(`${s.url}/.well-known/cxone-configuration?tenantId=someone-else`)
    expect([other.status, await other.json()]).toEqual([404, { error: 'tenant_not_found' }])
  })

  it('are not the proxy\'s without PROXY_LOCAL_AUTH: no placeholder is issued by a listener that did not ask', async () => {
    const s = await stackOf({ PROXY_LOCAL_AUTH: 'false' })
    // Forwarded like any path: the tenant's token endpoint judges it (and refuses the proxy's bearer in place of a client).
    const answer = await post(`${s.url}/auth/token`, FORM, 'grant_type=password&username=a&password=b')
    expect([answer.status, answer.body.error]).toEqual([401, 'invalid_client'])
    expect(s.sim.tokenRequests).toBeGreaterThan(1)
  })
})

describe('with callers (the identify hook)', () => {
  it('the access key (password grant, UserHub) or the client id and secret (client_credentials) identify the caller', async () => {
    const s = await stackOf({}, CALLER)
    const pw = await post(`${s.url}/auth/token`, { ...FORM, authorization: basic('unchecked', 'unchecked') }, `grant_type=password&username=nightly-export&password=${encodeURIComponent('k3y+/=')}`)
    const cc = await post(`${s.url}/auth/token`, { ...FORM, authorization: basic('nightly-export', 'k3y+/=') }, 'grant_type=client_credentials')
    const ccEncoded = await post(`${s.url}/auth/token`, { ...FORM, authorization: basic('nightly-export', encodeURIComponent('k3y+/=')) }, 'grant_type=client_credentials')
    const uh = await post(`${s.url}/authentication/v1/token/access-key`, { 'content-type': 'application/json' }, JSON.stringify({ accessKeyId: 'nightly-export', accessKeySecret: 'k3y+/=' }))
    for (const a of [pw, cc, ccEncoded, uh]) expect(claimsOf(a.body.access_token as string).caller).toBe('nightly-export')
    const refreshed = await post(`${s.url}/auth/token`, FORM, `grant_type=refresh_token&refresh_token=${pw.body.refresh_token as string}`)
    expect(claimsOf(refreshed.body.access_token as string).caller).toBe('nightly-export')
  })

  it('a wrong name or key gets invalid_grant / invalid_client, as CXone answers them', async () => {
    const s = await stackOf({}, CALLER)
    expect(await post(`${s.url}/auth/token`, FORM, 'grant_type=password&username=nightly-export&password=wrong')).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid access key' } })
    expect(await post(`${s.url}/auth/token`, FORM, 'grant_type=password&username=someone&password=k3y%2B%2F%3D')).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    expect(await post(`${s.url}/auth/token`, { ...FORM, authorization: basic('nightly-export', 'wrong') }, 'grant_type=client_credentials')).toMatchObject({ status: 401, body: { error: 'invalid_client', error_description: 'Bad client credentials' } })
    expect(await post(`${s.url}/auth/token`, FORM, 'grant_type=client_credentials')).toMatchObject({ status: 401, body: { error: 'invalid_client' } })
    expect(await post(`${s.url}/authentication/v1/token/access-key`, FORM, 'accessKeyId=nightly-export&accessKeySecret=no')).toMatchObject({ status: 401, body: { error: 'invalid_grant' } })
  })

  it('admission hands the caller a valid placeholder names to what follows (issue 22 reads it)', () => {
    const key = createPlaceholderKey()
    const now = 1_800_000_000_000
    const settings = loadConfig({ env: { PROXY_LOCAL_AUTH: 'true', CXONE_CLIENT_ID: 'i', CXONE_CLIENT_SECRET: 's', CXONE_ACCESS_KEY_ID: 'k', CXONE_ACCESS_KEY_SECRET: 'v' }, skipDefaultFile: true }).settings
    const rules = compileRules(settings, [], 'default', { key, profile: 'default', now: () => now })
    const { token } = issuePlaceholder({ real: { tenantId: 't' }, realExpiresAt: now + 60_000, profile: 'default', caller: 'nightly-export', use: 'access', key, now })
    const head = { method: 'GET', url: '/inContactAPI/services/v31.0/agents/states', headers: { host: '127.0.0.1:8080', authorization: `Bearer ${token}` }, rawHeaders: ['Host', '127.0.0.1:8080', 'Authorization', `Bearer ${token}`] }
    expect(admit(head, rules).caller).toBe('nightly-export')
    expect(admit({ ...head, headers: { host: '127.0.0.1:8080', authorization: 'Bearer real-cxone-token' } }, rules).caller).toBeUndefined()
  })
})
