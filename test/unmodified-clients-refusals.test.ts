import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { createLogger } from '../src/core/log.js'
import { startProxy } from '../src/runtime/server.js'
import { CxoneSimulator, DEMO_CREDENTIALS, DEMO_TENANT_TWO } from '../src/simulator/simulator.js'
import { LogCapture, simulatorEnv, startStack, type Stack } from './helpers/harness.js'
import { ManualClock } from './helpers/manual-clock.js'
import { runProcess } from './helpers/run-process.js'
import { AccessKeyJsonClient } from './fixtures/clients/access-key-json-client.js'

// Issue 23: placeholders that are forged, expired or another profile's are refused with the 401 CXone answers, and
// the clients' own refresh-on-401 logic gets them a new one; a real CXone token sent to the proxy is never forwarded.

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

async function stackOf (opts: Parameters<typeof startStack>[0] = {}): Promise<Stack> {
  const stack = await startStack({ ...opts, env: { PROXY_LOCAL_AUTH: 'true', ...opts.env } })
  cleanups.push(stack.close)
  return stack
}

async function tokenFrom (url: string): Promise<Record<string, string>> {
  const res = await fetch(`${url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password&username=k&password=s' })
  expect(res.status).toBe(200)
  return await res.json() as Record<string, string>
}

const SKILLS = '/inContactAPI/services/v30.0/skills/activity'
const expectedRefusal = (why: string): Record<string, string> => ({ error: 'invalid_token', error_description: `the bearer placeholder ${why}: get a new token from this listener's /auth/token` })

describe('placeholders refused with a 401 the client handles', () => {
  it('a forged placeholder (payload edited, signature kept): 401 in CXone shape, never forwarded; the client logs in again', async () => {
    const stack = await stackOf()
    const good = (await tokenFrom(stack.url)).access_token as string
    const [h, p, s] = good.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, exp: (claims.exp as number) + 86_400 })).toString('base64url')}.${s}`

    const raw = await fetch(`${stack.url}${SKILLS}`, { headers: { authorization: `Bearer ${forged}` } })
    expect(raw.status).toBe(401)
    expect(raw.headers.get('proxy-status')).toBe('cxone-auth-proxy; error=http_request_denied; details="placeholder_rejected"')
    expect(await raw.json()).toEqual(expectedRefusal('was not signed by this proxy'))
    expect(stack.sim.apiRequests).toHaveLength(0)

    const client = new AccessKeyJsonClient(stack.url, stack.url)
    client.plant(forged, stack.url)
    await client.get('skills/activity')
    expect(client.statuses).toEqual([401, 200])
    expect(stack.sim.apiRequests.map((r) => r.headers.authorization)).toEqual([`Bearer ${stack.sim.issuedTokens()[0] as string}`])
    expect(stack.sim.tokenRequests).toBe(1)
  })

  it('an expired placeholder: 401 at its exp (the proxy\'s clock), and the client\'s retry gets a fresh one', async () => {
    const clock = new ManualClock()
    const stack = await stackOf({ deps: { clock }, sim: { now: clock.now } })
    const client = new AccessKeyJsonClient(stack.url, stack.url)
    await client.get('skills/activity')
    // The client's own clock says its token is good for an hour yet; the proxy's says it expired.
    await clock.advance(3_600_000)
    await client.get('skills/activity')
    expect(client.statuses).toEqual([200, 401, 200])
    expect(JSON.parse(client.seen.find((t) => t.includes('invalid_token')) as string)).toEqual(expectedRefusal('has expired'))
    const real = stack.sim.issuedTokens()
    expect(stack.sim.apiRequests.map((r) => r.headers.authorization)).toEqual([`Bearer ${real[0] as string}`, `Bearer ${real.at(-1) as string}`])
  })

  it("another profile's placeholder is refused on this profile's listener; the Python client's force_refresh runs", async () => {
    const a = await new CxoneSimulator().start()
    const b = await new CxoneSimulator({ credentials: DEMO_TENANT_TWO.credentials, tenantId: DEMO_TENANT_TWO.tenantId }).start()
    cleanups.push(async () => { await a.stop(); await b.stop() })
    const file = join(mkdtempSync(join(tmpdir(), 'cxone-local-auth-')), 'proxy.config.json')
    writeFileSync(file, JSON.stringify({ localAuth: true, profiles: { 'bu-two': { port: 0, issuer: b.issuer } } }))
    const two = DEMO_TENANT_TWO.credentials
    const env = simulatorEnv(a, { PROXY_CONFIG: file, CXONE_BU_TWO_CLIENT_ID: two.clientId, CXONE_BU_TWO_CLIENT_SECRET: two.clientSecret, CXONE_BU_TWO_ACCESS_KEY_ID: two.accessKeyId, CXONE_BU_TWO_ACCESS_KEY_SECRET: two.accessKeySecret })
    const running = await startProxy(loadConfig({ env, skipDefaultFile: true }), { env: {}, logger: createLogger('info', new LogCapture()) })
    cleanups.push(async () => { await running.proxy.close() })
    const urlA = running.urls.default as string
    const urlB = running.urls['bu-two'] as string

    const foreign = (await tokenFrom(urlB)).access_token as string
    const refused = await fetch(`${urlA}${SKILLS}`, { headers: { authorization: `Bearer ${foreign}` } })
    expect(refused.status).toBe(401)
    expect(await refused.json()).toEqual(expectedRefusal('was issued for another profile (business unit)'))

    const r = await runProcess('/usr/bin/python3', ['test/fixtures/clients/password_grant_client.py', urlA, foreign])
    expect(r.stderr).toBe('')
    const run = JSON.parse(r.stdout) as { statuses: number[], seen: string[] }
    expect(run.statuses).toEqual([200, 200])
    expect(JSON.parse(run.seen[0] as string)).toEqual(expectedRefusal('was issued for another profile (business unit)'))
    expect(a.apiRequests.map((x) => x.headers.authorization)).toEqual(Array(2).fill(`Bearer ${a.issuedTokens()[0] as string}`))
    expect(b.apiRequests).toHaveLength(0)
  })
})

describe('a real CXone token sent to the proxy', () => {
  it.each([['true'], ['false']])('is never forwarded (PROXY_LOCAL_AUTH=%s): the proxy\'s own bearer replaces it', async (localAuth) => {
    const stack = await stackOf({ env: { PROXY_LOCAL_AUTH: localAuth } })
    const c = DEMO_CREDENTIALS
    // The client got a real token from CXone itself, as it did before it was pointed at the proxy.
    const own = await fetch(`${stack.sim.issuer}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'password', username: c.accessKeyId, password: c.accessKeySecret })
    })
    const clientsToken = (await own.json() as Record<string, string>).access_token as string
    const res = await fetch(`${stack.url}${SKILLS}`, { headers: { authorization: `Bearer ${clientsToken}` } })
    expect(res.status).toBe(200)
    const proxys = stack.sim.issuedTokens().find((t) => t !== clientsToken) as string
    expect(stack.sim.apiRequests.map((r) => r.headers.authorization)).toEqual([`Bearer ${proxys}`])
  })
})
