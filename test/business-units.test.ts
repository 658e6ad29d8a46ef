import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { createLogger } from '../src/core/log.js'
import { startProxy, type RunningProxy } from '../src/runtime/server.js'
import { CxoneSimulator, DEMO_TENANT_TWO } from '../src/simulator/simulator.js'
import { API, LogCapture, simulatorEnv } from './helpers/harness.js'
import { heldForMs, startUpstream } from './helpers/upstream.js'

// Issue 12: several business units in one proxy, each on its own port with its own credentials, token and hosts.

interface Units {
  a: CxoneSimulator
  b: CxoneSimulator
  running: RunningProxy
  urlA: string
  urlB: string
  logs: LogCapture
}

const TWO = DEMO_TENANT_TWO.credentials
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** Two tenants, each its own simulator (issuer, token endpoint, API hosts), and the proxy with profile `bu-two`. */
async function startUnits (opts: { env?: Record<string, string>, profile?: Record<string, unknown>, top?: Record<string, unknown>, beforeStart?: (b: CxoneSimulator) => void } = {}): Promise<Units> {
  const a = await new CxoneSimulator().start()
  const b = await new CxoneSimulator({ credentials: TWO, tenantId: DEMO_TENANT_TWO.tenantId }).start()
  cleanups.push(async () => { await a.stop(); await b.stop() })
  opts.beforeStart?.(b)
  const path = join(mkdtempSync(join(tmpdir(), 'cxone-units-')), 'proxy.config.json')
  writeFileSync(path, JSON.stringify({ ...opts.top, profiles: { 'bu-two': { port: 0, issuer: b.issuer, ...opts.profile } } }))
  const env = simulatorEnv(a, {
    PROXY_CONFIG: path,
    CXONE_BU_TWO_CLIENT_ID: TWO.clientId,
    CXONE_BU_TWO_CLIENT_SECRET: TWO.clientSecret,
    CXONE_BU_TWO_ACCESS_KEY_ID: TWO.accessKeyId,
    CXONE_BU_TWO_ACCESS_KEY_SECRET: TWO.accessKeySecret,
    ...opts.env
  })
  const logs = new LogCapture()
  const running = await startProxy(loadConfig({ env, skipDefaultFile: true }), { env: {}, logger: createLogger('info', logs) })
  cleanups.push(async () => { await running.proxy.close() })
  return { a, b, running, urlA: running.urls.default as string, urlB: running.urls['bu-two'] as string, logs }
}

const bearer = (h: string | string[] | undefined): string => String(h).replace(/^Bearer /, '')

async function ready (url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${url}/_proxy/readyz`)).status === 200) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${url} never became ready`)
}

describe('several business units in one proxy', () => {
  it('each port reaches its own tenant with its own token, and rewrites links to its own origin', async () => {
    const u = await startUnits()
    await ready(u.urlA)
    expect(u.urlB).not.toBe(u.urlA)
    const ra = await fetch(`${u.urlA}${API}/skills/activity`)
    const rb = await fetch(`${u.urlB}${API}/skills/activity`)
    expect([ra.status, rb.status]).toEqual([200, 200])
    const bodyB = await rb.json() as { _links: { self: string } }
    expect(bodyB._links.self.startsWith(`${u.urlB}/`)).toBe(true)
    expect(((await ra.json()) as { _links: { self: string } })._links.self.startsWith(`${u.urlA}/`)).toBe(true)
    // Each tenant's API saw one call, with a token its own token endpoint issued; never the other's.
    expect(u.a.apiRequests.map((r) => r.url)).toEqual([`${API}/skills/activity`])
    expect(u.b.apiRequests.map((r) => r.url)).toEqual([`${API}/skills/activity`])
    expect(u.a.issuedTokens()).toContain(bearer(u.a.apiRequests[0]?.headers.authorization))
    expect(u.b.issuedTokens()).toContain(bearer(u.b.apiRequests[0]?.headers.authorization))
    expect(u.a.issuedTokens()).not.toContain(bearer(u.b.apiRequests[0]?.headers.authorization))
    expect([u.a.tokenRequests, u.b.tokenRequests]).toEqual([1, 1])
  })

  it('a key of one profile is refused on another\'s port', async () => {
    const u = await startUnits({ env: { PROXY_API_KEYS: 'key-of-default-0123456789', PROXY_BU_TWO_API_KEYS: 'key-of-bu-two-0123456789' } })
    const get = async (url: string, key: string): Promise<{ status: number, code: string | undefined }> => {
      const r = await fetch(`${url}${API}/agents/states`, { headers: { 'x-proxy-key': key } })
      const body = await r.json() as { error?: { code: string } }
      return { status: r.status, code: body.error?.code }
    }
    expect(await get(u.urlB, 'key-of-default-0123456789')).toEqual({ status: 401, code: 'proxy_auth_required' })
    expect(await get(u.urlA, 'key-of-bu-two-0123456789')).toEqual({ status: 401, code: 'proxy_auth_required' })
    expect((await get(u.urlB, 'key-of-bu-two-0123456789')).status).toBe(200)
    expect((await get(u.urlA, 'key-of-default-0123456789')).status).toBe(200)
    expect(u.a.apiRequests).toHaveLength(1)
    expect(u.b.apiRequests).toHaveLength(1)
  })

  it('the overview of every profile is the default key\'s only: a profile\'s key and port see none of it (docs/security.md)', async () => {
    const u = await startUnits({ env: { PROXY_API_KEYS: 'key-of-default-0123456789', PROXY_BU_TWO_API_KEYS: 'key-of-bu-two-0123456789' } })
    await ready(u.urlA)
    const status = async (url: string, path: string, key: string): Promise<number> => (await fetch(`${url}${path}`, { headers: { 'x-proxy-key': key } })).status
    for (const path of ['/_proxy/status.json', '/_proxy/', '/_proxy/metrics']) {
      expect(await status(u.urlB, path, 'key-of-bu-two-0123456789'), path).toBe(404)
      expect(await status(u.urlA, path, 'key-of-bu-two-0123456789'), path).toBe(401)
    }
    const report = await (await fetch(`${u.urlA}/_proxy/status.json`, { headers: { 'x-proxy-key': 'key-of-default-0123456789' } })).json() as { profiles: Array<{ name: string }> }
    expect(report.profiles.map((p) => p.name)).toEqual(['default', 'bu-two'])
  })

  it('an upstream 401 on one profile renews that profile\'s token only', async () => {
    const u = await startUnits()
    await ready(u.urlA)
    expect((await fetch(`${u.urlA}${API}/agents/states`)).status).toBe(200)
    expect((await fetch(`${u.urlB}${API}/agents/states`)).status).toBe(200)
    const tokenA = u.running.proxy.profiles[0]?.provider.current()?.accessToken
    u.b.revokeAll()
    // Replayed once with a new token from bu-two's own token endpoint.
    expect((await fetch(`${u.urlB}${API}/agents/states`)).status).toBe(200)
    expect(u.b.tokenRequests).toBe(2)
    expect(u.a.tokenRequests).toBe(1)
    expect(u.running.proxy.profiles[0]?.provider.current()?.accessToken).toBe(tokenA)
    expect((await fetch(`${u.urlA}${API}/agents/states`)).status).toBe(200)
    expect(u.a.unauthorizedApiCalls).toBe(0)
  })

  it('one token endpoint down: only that profile\'s port fails, and readiness names it', async () => {
    const u = await startUnits({ beforeStart: (b) => { b.tokenFault = { kind: 'status', status: 503, retryAfter: '1' } } })
    const ra = await fetch(`${u.urlA}${API}/agents/states`)
    expect(ra.status).toBe(200)
    const rb = await fetch(`${u.urlB}${API}/agents/states`)
    expect(rb.status).toBe(503)
    expect(((await rb.json()) as { error: { code: string } }).error.code).toBe('token_unavailable')
    expect(u.b.apiRequests).toHaveLength(0)

    // All profiles: 503 naming bu-two; one profile: its own state; a profile's port: its own.
    const all = await fetch(`${u.urlA}/_proxy/readyz`)
    expect(all.status).toBe(503)
    expect(await all.json()).toMatchObject({ status: 'not_ready', notReady: ['bu-two'], profiles: { default: { status: 'ready' }, 'bu-two': { status: 'not_ready' } } })
    expect((await fetch(`${u.urlA}/_proxy/readyz?profile=default`)).status).toBe(200)
    expect((await fetch(`${u.urlA}/_proxy/readyz?profile=bu-two`)).status).toBe(503)
    // The port's process is alive whatever its token's state: healthz answers there too.
    expect(await (await fetch(`${u.urlB}/_proxy/healthz`)).json()).toEqual({ status: 'ok' })
    const own = await fetch(`${u.urlB}/_proxy/readyz`)
    expect(own.status).toBe(503)
    expect(await own.json()).toMatchObject({ profile: 'bu-two', status: 'not_ready' })
    const unknown = await fetch(`${u.urlA}/_proxy/readyz?profile=emea`)
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain('the profiles are default, bu-two')

    u.b.tokenFault = undefined
    await ready(u.urlB)
    await ready(u.urlA)
    expect((await fetch(`${u.urlB}${API}/agents/states`)).status).toBe(200)
  })

  it('labels metrics and log lines with the profile, and the start-up line lists each profile', async () => {
    const u = await startUnits()
    await ready(u.urlA)
    await fetch(`${u.urlA}${API}/skills/activity`)
    await fetch(`${u.urlB}${API}/skills/activity`)
    await fetch(`${u.urlB}${API}/skills/activity`)
    const text = await (await fetch(`${u.urlA}/_proxy/metrics`)).text()
    expect(text).toMatch(/cxone_proxy_requests_total\{profile="bu-two",upstream="api",method="GET",route_class="api:skills",status="200"\} 2/)
    expect(text).toMatch(/cxone_proxy_requests_total\{profile="default",upstream="api",method="GET",route_class="api:skills",status="200"\} 1/)
    expect(text).toMatch(/cxone_proxy_token_valid\{profile="bu-two"\} 1/)
    expect(text).toMatch(/cxone_proxy_token_requests_total\{profile="bu-two",outcome="success",oauth_error="none"\} 1/)
    const requests = u.logs.entries.filter((e) => e.msg === 'request' && e.path === `${API}/skills/activity`)
    expect(requests.map((e) => e.profile).sort()).toEqual(['bu-two', 'bu-two', 'default'])
    const obtained = u.logs.entries.filter((e) => String(e.msg).includes('token obtained'))
    expect(obtained.map((e) => e.profile).sort()).toEqual(['bu-two', 'default'])
    const start = u.logs.entries.find((e) => String(e.msg).startsWith('cxone-auth-proxy listening on'))
    expect(start?.msg).toBe(`cxone-auth-proxy listening on ${u.urlA} and ${u.urlB} (bu-two)`)
    expect(start?.profiles).toMatchObject([{ name: 'bu-two', url: u.urlB, settings: { issuer: { value: u.b.issuer, from: 'file' }, secrets: { CXONE_BU_TWO_CLIENT_SECRET: 'env' } } }])
    for (const secret of [TWO.clientSecret, TWO.accessKeySecret, ...u.a.issuedTokens(), ...u.b.issuedTokens()]) expect(u.logs.text()).not.toContain(secret)
  })

  it('a profile waiting for its token holds none of the upstream places the other profiles need', async () => {
    const u = await startUnits({ env: { PROXY_MAX_CONCURRENT_UPSTREAM: '2', PROXY_QUEUE_TIMEOUT_MS: '300' }, beforeStart: (b) => { b.tokenFault = { kind: 'hang' } } })
    for (let i = 0; i < 100 && (await fetch(`${u.urlA}/_proxy/readyz?profile=default`)).status !== 200; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    // Two calls on bu-two, whose token endpoint never answers: as many as there are places upstream.
    const stuck = [1, 2].map(async (i) => await fetch(`${u.urlB}${API}/skills/activity?x=${i}`, { signal: AbortSignal.timeout(1500) }).then((r) => r.status, () => 'timeout'))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await fetch(`${u.urlA}${API}/agents/states`)).status).toBe(200)
    expect(await Promise.all(stuck)).toEqual(['timeout', 'timeout'])
    expect(u.b.apiRequests).toHaveLength(0)
  })

  it('never coalesces or caches across profiles, even for one URL on one host', async () => {
    const api = await startUpstream(heldForMs)
    cleanups.push(api.close)
    const rule = [{ route: 'GET /held', ttlMs: 60_000 }]
    const u = await startUnits({ env: { CXONE_API_URL: api.url }, top: { cache: rule }, profile: { apiUrl: api.url } })
    await ready(u.urlA)
    await ready(u.urlB)
    const path = '/held?ms=300'
    const answers = await Promise.all([u.urlA, u.urlA, u.urlB, u.urlB, u.urlA, u.urlB].map(async (url) => (await fetch(`${url}${path}`)).status))
    expect(answers).toEqual([200, 200, 200, 200, 200, 200])
    // One call per business unit, each with its own tenant's token: the three callers of each profile shared it.
    expect(api.seen).toHaveLength(2)
    const tokens = api.seen.map((s) => bearer(s.headers.authorization)).sort()
    expect(tokens).toEqual([u.running.proxy.profiles[0]?.provider.current()?.accessToken, u.running.proxy.profiles[1]?.provider.current()?.accessToken].sort())
    expect(u.a.issuedTokens().filter((t) => tokens.includes(t))).toHaveLength(1)
    expect(u.b.issuedTokens().filter((t) => tokens.includes(t))).toHaveLength(1)
    // The micro-cache (inherited by bu-two) answers each profile from its own entries only.
    expect((await fetch(`${u.urlB}${path}`)).headers.get('cache-status')).toMatch(/hit/)
    expect((await fetch(`${u.urlA}${path}`)).headers.get('cache-status')).toMatch(/hit/)
    expect(api.seen).toHaveLength(2)
  })

  it('names a profile\'s own settings in its errors, never the default\'s variables', async () => {
    const u = await startUnits({ profile: { apiUrl: 'http://127.0.0.1:9' } })
    await ready(u.urlA)
    const r = await fetch(`${u.urlB}/dfo/3.0/contacts`)
    expect(r.status).toBe(502)
    const message = ((await r.json()) as { error: { message: string } }).error.message
    expect(message).toBe('the digital upstream is not configured: profiles.bu-two.apiUrl is set, so no host is discovered; set profiles.bu-two.digitalUrl (for example https://api-de-na1.niceincontact.com)')
  })

  it('keeps each profile\'s read-only and route rules to its own port', async () => {
    const u = await startUnits({ top: { readOnly: true }, profile: { readOnly: false } })
    await ready(u.urlA)
    expect((await fetch(`${u.urlA}${API}/agents/states`, { method: 'POST', body: '{}' })).status).toBe(403)
    expect((await fetch(`${u.urlB}${API}/agents/states`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(200)
  })

  it('a profile\'s read-only refusal names profiles.<name>.readOnly, the default\'s PROXY_READ_ONLY (issue 25)', async () => {
    const u = await startUnits({ top: { readOnly: true } })
    await ready(u.urlB)
    const message = async (url: string): Promise<string> => ((await (await fetch(`${url}${API}/agents/states`, { method: 'POST', body: '{}' })).json()) as { error: { message: string } }).error.message
    expect(await message(u.urlB)).toBe('POST is refused: profiles.bu-two.readOnly=true forwards only GET, HEAD and OPTIONS')
    expect(await message(u.urlA)).toBe('POST is refused: PROXY_READ_ONLY=true forwards only GET, HEAD and OPTIONS')
  })
})

describe('a reload with several business units', () => {
  it('rotates one profile\'s secret file without touching the other\'s token', async () => {
    const a = await new CxoneSimulator().start()
    const b = await new CxoneSimulator({ credentials: TWO, tenantId: DEMO_TENANT_TWO.tenantId }).start()
    cleanups.push(async () => { await a.stop(); await b.stop() })
    const dir = mkdtempSync(join(tmpdir(), 'cxone-units-reload-'))
    const configPath = join(dir, 'proxy.config.json')
    writeFileSync(configPath, JSON.stringify({ profiles: { 'bu-two': { port: 0, issuer: b.issuer } } }))
    const secretFile = join(dir, 'bu-two-secret')
    writeFileSync(secretFile, 'a-secret-that-was-revoked-0000000')
    const env = simulatorEnv(a, {
      CXONE_BU_TWO_CLIENT_ID: TWO.clientId,
      CXONE_BU_TWO_CLIENT_SECRET_FILE: secretFile,
      CXONE_BU_TWO_ACCESS_KEY_ID: TWO.accessKeyId,
      CXONE_BU_TWO_ACCESS_KEY_SECRET: TWO.accessKeySecret
    })
    const load = (): ReturnType<typeof loadConfig> => loadConfig({ env, configPath })
    const logs = new LogCapture()
    const running = await startProxy(load(), { env: {}, logger: createLogger('info', logs) }, { load, env, configPath })
    cleanups.push(async () => { await running.shutdown('test over') })
    const urlB = running.urls['bu-two'] as string
    for (let i = 0; i < 100 && (await fetch(`${running.url}/_proxy/readyz?profile=default`)).status !== 200; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    expect((await fetch(`${urlB}${API}/agents/states`)).status).toBe(502)
    const tokenA = running.proxy.profiles[0]?.provider.current()?.accessToken
    expect(tokenA).toBeDefined()

    writeFileSync(secretFile, TWO.clientSecret)
    await running.reload('SIGHUP')
    // Applied by the file watcher or the SIGHUP, whichever came first: once, naming the variable, never its value.
    const applied = logs.entries.filter((e) => e.outcome === 'applied').map((e) => e.changed)
    expect(applied).toEqual([['CXONE_BU_TWO_CLIENT_SECRET']])
    await ready(urlB)
    expect((await fetch(`${urlB}${API}/agents/states`)).status).toBe(200)
    expect(running.proxy.profiles[0]?.provider.current()?.accessToken).toBe(tokenA)
    expect(logs.text()).not.toContain(TWO.clientSecret)
  })
})
