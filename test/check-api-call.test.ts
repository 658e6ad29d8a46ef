import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { expectNoSecrets, runCheckAgainst } from './helpers/check.js'

describe('check when the token is issued but the API call fails', () => {
  let sim: CxoneSimulator
  let otherRegion: CxoneSimulator
  beforeAll(async () => {
    sim = await new CxoneSimulator().start()
    otherRegion = await new CxoneSimulator().start()
  })
  afterAll(async () => {
    await sim.stop()
    await otherRegion.stop()
  })

  it('an API host that does not know the token (another region): exit 1, names CXONE_API_URL', async () => {
    const run = await runCheckAgainst(sim, { env: { CXONE_API_URL: otherRegion.origin } })
    expect(run.code).toBe(1)
    expect(run.text).toMatch(new RegExp(`^\\[skip\\] API discovery: not needed: CXONE_API_URL is set \\(env\\)$`, 'm'))
    expect(run.text).toContain(`[FAIL] API call: GET ${otherRegion.origin}/inContactAPI/services/v25.0/server-time → 401 invalid_token (unknown or expired token)`)
    expect(run.text).toMatch(/^ {2}1\. \[api_host_wrong_region\] the API host does not accept this tenant's token: it belongs to another region or cluster$/m)
    expect(run.text).toContain('fix: unset CXONE_API_URL so the API host is discovered for the tenant')
    expect(otherRegion.apiRequests).toHaveLength(1)
    expectNoSecrets(run)
  })

  it('a discovered plain-http API host off loopback: the bearer is never sent there', async () => {
    const run = await runCheckAgainst(sim, {
      fetch: (real) => async (url, init) => new URL(url).pathname === '/.well-known/cxone-configuration'
        ? new Response(JSON.stringify({ api_endpoint: 'http://api-na1.example.com' }), { status: 200, headers: { 'content-type': 'application/json' } })
        : await real(url, init)
    })
    expect(run.code).toBe(1)
    expect(run.text).toContain('api_endpoint=http://api-na1.example.com is a plain-http endpoint off loopback')
    expect(run.fetched.some((u) => u.includes('example.com'))).toBe(false)
  })
})
