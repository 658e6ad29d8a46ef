import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { expectNoSecrets, runCheckAgainst } from './helpers/check.js'

describe('check with a wrong access key', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator().start() })
  afterAll(async () => { await sim.stop() })

  it('names invalid_grant: the access key wrong, revoked, or its user deactivated', async () => {
    const run = await runCheckAgainst(sim, { env: { CXONE_ACCESS_KEY_SECRET: 'V3JvbmdBY2Nlc3NLZXlTZWNyZXQwMTIzNDU2Nzg5YWJjZGVmZ2g=' } })
    expect(run.code).toBe(1)
    expect(run.text).toContain('[FAIL] token response: 400 invalid_grant (Invalid access key)')
    expect([...run.text.matchAll(/^ {2}\d+\. (.*)$/gm)].map((m) => m[1])).toEqual([
      '[wrong_access_key] the access key is wrong: CXONE_ACCESS_KEY_ID and CXONE_ACCESS_KEY_SECRET do not match a key',
      '[access_key_revoked] the access key was revoked or deactivated',
      '[access_key_user_inactive] the access key\'s user is deactivated or locked'
    ])
    expect(run.text).not.toContain('invalid_client')
    expectNoSecrets(run)
  })

  it('with --probe, sends nothing more: the client was accepted, so the client authentication is right', async () => {
    const before = sim.tokenRequests
    const run = await runCheckAgainst(sim, { env: { CXONE_ACCESS_KEY_ID: 'WRONGKEYID7XQ2M4T9L0P3R8W6Z1V5' }, probe: true })
    expect(sim.tokenRequests - before).toBe(1)
    expect(run.text).toContain('the configured client_secret_basic (rfc6749) is accepted: the server accepted the client (the grant itself failed)')
    expect(run.text.split('\n').at(-1)).toBe('use: CXONE_CLIENT_AUTH=client_secret_basic CXONE_BASIC_ENCODING=rfc6749 (as configured)')
    expect(run.code).toBe(1)
    expectNoSecrets(run)
  })

  it('warns when the access key secret looks URL-encoded already', async () => {
    const run = await runCheckAgainst(sim, { env: { CXONE_ACCESS_KEY_SECRET: 'U2ltdWxhdG9yQWNjZXNzS2V5U2VjcmV0MDEyMzQ1Njc4OWFiY2RlZg%3D%3D' } })
    expect(run.text).toMatch(/^\[warn\] CXONE_ACCESS_KEY_SECRET contains %XX sequences: it looks URL-encoded already/m)
    expect(run.text).toContain('400 invalid_grant')
  })
})
