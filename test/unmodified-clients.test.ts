import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from './helpers/harness.js'
import { runProcess } from './helpers/run-process.js'
import { AccessKeyJsonClient } from './fixtures/clients/access-key-json-client.js'
import { BasicPasswordClient } from './fixtures/clients/basic-password-client.js'
import { TokenEveryCallClient } from './fixtures/clients/token-every-call-client.js'

// Issue 23: real CXone clients' own token dances, replayed as their code sends them, with only their base URLs
// changed to the proxy's. One stack for the whole run: CXone's token endpoint must see one request in all.

const PYTHON = '/usr/bin/python3'

interface PyRun { statuses: number[], seen: string[] }

async function python (script: string, args: string[]): Promise<PyRun> {
  const r = await runProcess(PYTHON, [`test/fixtures/clients/${script}`, ...args])
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return JSON.parse(r.stdout) as PyRun
}

describe('unmodified CXone clients through the proxy (PROXY_LOCAL_AUTH=true)', () => {
  let stack: Stack
  /** Everything every client received, to show that none of it is a real token. */
  const received: string[] = []
  beforeAll(async () => { stack = await startStack({ env: { PROXY_LOCAL_AUTH: 'true' } }) })
  afterAll(async () => { await stack.close() })

  /** Every API call the simulator's tenant answered since `from` carried the proxy's one real token. */
  function answeredWithTheRealToken (from: number): void {
    const calls = stack.sim.apiRequests.slice(from)
    expect(calls.length).toBeGreaterThan(0)
    const real = stack.sim.issuedTokens()
    expect(real).toHaveLength(1)
    for (const c of calls) expect(c.headers.authorization).toBe(`Bearer ${real[0] as string}`)
  }

  it('singer-io/tap-nice-incontact: UserHub access-key login as a form, Bearer calls, refresh at /public/user/refresh', async () => {
    const from = stack.sim.apiRequests.length
    const run = await python('userhub_form_client.py', [stack.url, stack.url])
    received.push(...run.seen)
    expect(run.statuses).toEqual([200, 200, 200])
    // login, two calls, the refresh (a new access token), the third call
    expect(run.seen).toHaveLength(5)
    expect(Object.keys(JSON.parse(run.seen[3] as string)).sort()).toEqual(['access_token', 'expires_in', 'id_token', 'refresh_token', 'token_type'])
    expect(JSON.parse(run.seen[3] as string).access_token).not.toBe(JSON.parse(run.seen[0] as string).access_token)
    expect(stack.sim.apiRequests.slice(from).map((r) => r.url.split('?')[0])).toEqual([
      '/inContactAPI/services/v21.0/skills/activity', '/inContactAPI/services/v21.0/agents/states', '/inContactAPI/services/v21.0/contacts/active'
    ])
    expect(stack.sim.apiRequests.slice(from).map((r) => r.headers['user-agent'])).toEqual(Array(3).fill('tap-nice-incontact <test>'))
    answeredWithTheRealToken(from)
  })

  it('kpopow7/cxone_zendesk_analysis: discovery, password grant with client secrets in the body, id_token tenant, cxone-configuration', async () => {
    const from = stack.sim.apiRequests.length
    const run = await python('password_grant_client.py', [stack.url])
    received.push(...run.seen)
    expect(run.statuses).toEqual([200, 200])
    expect(JSON.parse(run.seen[0] as string)).toMatchObject({ issuer: stack.url, token_endpoint: `${stack.url}/auth/token` })
    expect(JSON.parse(run.seen[2] as string)).toEqual({ tenantId: stack.sim.options.tenantId, area: 'na1', cluster: 'SIM1', domain: 'cxone-simulator.test', api_endpoint: stack.url, ui_endpoint: stack.url, auth_endpoint: stack.url })
    answeredWithTheRealToken(from)
  })

  it('outboundani/cxone-mcp: UserHub access-key login as JSON, claims from the id_token, Accept: application/json', async () => {
    const from = stack.sim.apiRequests.length
    const client = new AccessKeyJsonClient(stack.url, stack.url)
    const skills = await client.get('skills/activity') as { skillActivity: unknown[] }
    expect(skills.skillActivity.length).toBeGreaterThan(0)
    await client.get('agents/states')
    const session = await client.session()
    expect(session).toMatchObject({ tenantId: stack.sim.options.tenantId, busNo: 4600001, cluster: 'SIM1', apiBase: stack.url })
    received.push(...client.seen)
    expect(client.statuses).toEqual([200, 200])
    answeredWithTheRealToken(from)
  })

  it("Cognigy's CXone extension: discovery, password grant with a Basic header, cxone-configuration, a handover signal", async () => {
    const from = stack.sim.apiRequests.length
    const client = new BasicPasswordClient(stack.url, stack.sim.options.tenantId)
    expect(await client.handover('12345678901', 'escalate', ['queue-7'])).toBe(202)
    expect(stack.sim.apiRequests.slice(from).map((r) => `${r.method} ${r.url}`)).toEqual(['POST /inContactAPI/services/v30.0/interactions/12345678901/signal?p1=escalate&p2=queue-7'])
    received.push(...client.seen)
    answeredWithTheRealToken(from)
  })

  it('DEFRA/flood-webchat: a token before every call (Host header, form Content-Type, token_type from the answer)', async () => {
    const from = stack.sim.apiRequests.length
    const client = new TokenEveryCallClient(`${stack.url}/auth/token`, `${stack.url}/.well-known/cxone-configuration`)
    for (let i = 0; i < 5; i++) expect(await client.check('/inContactAPI/services/v26.0/skills/1001/activity')).toHaveProperty('hasCapacity')
    expect(client.statuses).toEqual(Array(15).fill(200))
    received.push(...client.seen)
    answeredWithTheRealToken(from)
  })

  it('the example job with its own auth code (client_credentials, a hand-built Basic header) runs unmodified', async () => {
    const from = stack.sim.apiRequests.length
    const r = await runProcess(PYTHON, ['examples/python/own_auth_job.py'], { CXONE_BASE_URL: stack.url })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^skills: \d+, contacts in queue: \d+, agents: \d+\n$/)
    answeredWithTheRealToken(from)
  })

  it('for the whole run: one token request reached CXone, and no client ever saw the real token', () => {
    expect(stack.sim.tokenRequests).toBe(1)
    expect(received.length).toBeGreaterThan(20)
    const real = stack.sim.issuedTokens()[0] as string
    const all = received.join('\n')
    expect(all).not.toContain(real)
    // Not even its signature, which a placeholder might have copied.
    expect(all).not.toContain(real.split('.')[2] as string)
  })
})
