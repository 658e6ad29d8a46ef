import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator, DEMO_TENANT_ID } from '../src/simulator/simulator.js'
import { SERVER_TIME_PATH } from '../src/check/check.js'
import { expectNoSecrets, runCheckAgainst, type CheckRun } from './helpers/check.js'

describe('check against a correctly configured CXone', () => {
  let sim: CxoneSimulator
  let run: CheckRun
  beforeAll(async () => {
    sim = await new CxoneSimulator().start()
    run = await runCheckAgainst(sim)
  })
  afterAll(async () => { await sim.stop() })

  it('exits 0 and walks every step in order, each ok', () => {
    expect(run.code).toBe(0)
    const marks = run.text.split('\n').filter((l) => /^\[(ok|FAIL|skip|sent|warn)/.test(l)).map((l) => l.replace(/:.*$/, ''))
    expect(marks).toEqual([
      '[ok]   configuration',
      '[ok]   issuer discovery',
      '[sent] token request',
      '[ok]   token response',
      '[ok]   API discovery',
      '[ok]   API call',
      '[ok]   routing'
    ])
    expect(run.text).toMatch(/^result: OK: a token was obtained and the API answered/m)
  })

  it('shows where each variable came from, secrets only as length and hash prefix', () => {
    expect(run.text).toMatch(/CXONE_CLIENT_ID +env: 067ed166…$/m)
    expect(run.text).toMatch(/CXONE_CLIENT_SECRET +env: <secret, 33 chars, sha256 [0-9a-f]{4}…>$/m)
    expect(run.text).toMatch(/CXONE_ACCESS_KEY_SECRET +env: <secret, 56 chars, sha256 [0-9a-f]{4}…>$/m)
    expect(run.text).toMatch(/CXONE_TOKEN_URL +unset: \(discovered from the issuer\)$/m)
    expect(run.text).toMatch(/CXONE_GRANT_TYPE +derived: password$/m)
    expect(run.text).toContain('found (environment and defaults; no config file)')
  })

  it('shows the token request as sent: endpoint, grant, client auth, the Basic shape, body field names, content type', () => {
    expect(run.text).toContain(`token request: POST ${sim.origin}/auth/token (as sent, secrets masked)`)
    expect(run.text).toMatch(/grant: +password$/m)
    expect(run.text).toMatch(/client auth: +client_secret_basic$/m)
    expect(run.text).toMatch(/Basic encoding: +rfc6749$/m)
    expect(run.text).toMatch(/authorization: +Basic base64\("067ed166…:<secret, 33 chars, sha256 [0-9a-f]{4}…>"\)$/m)
    expect(run.text).toMatch(/body: +grant_type=password&username=<CXONE_ACCESS_KEY_ID>&password=<CXONE_ACCESS_KEY_SECRET>$/m)
    expect(run.text).toMatch(/content-type: +application\/x-www-form-urlencoded$/m)
  })

  it('reports the response (lifetime, tenant) and the API host discovered for that tenant', () => {
    expect(run.text).toMatch(/token response: 200: a Bearer token for 3600 s/)
    expect(run.text).toMatch(new RegExp(`tenant: +${DEMO_TENANT_ID}$`, 'm'))
    expect(run.text).toMatch(new RegExp(`api_endpoint: +${sim.origin.replace(/\./g, '\\.')}$`, 'm'))
  })

  it('makes one read-only API call with the bearer it obtained', () => {
    const calls = sim.apiRequests.filter((r) => r.url === SERVER_TIME_PATH)
    expect(calls).toHaveLength(1)
    expect(calls[0]?.method).toBe('GET')
    expect(calls[0]?.headers.authorization).toBe(`Bearer ${run.tokens[0] ?? 'none'}`)
    expect(run.text).toMatch(/server time: +\d{4}-\d\d-\d\dT/)
  })

  it('prints no secret and no token', () => {
    expect(run.tokens.length).toBeGreaterThan(0)
    expectNoSecrets(run)
  })
})
