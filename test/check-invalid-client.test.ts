import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { expectNoSecrets, runCheckAgainst } from './helpers/check.js'

const WRONG_SECRET = 'WrongClientSecret0123456789abcdef'

/** The numbered causes as printed, first lines only. */
function causes (text: string): string[] {
  return [...text.matchAll(/^ {2}\d+\. (.*)$/gm)].map((m) => m[1] as string)
}

describe('check with a wrong client secret', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator().start() })
  afterAll(async () => { await sim.stop() })

  it('names invalid_client and its causes in order, each with a fix, and exits 1', async () => {
    const run = await runCheckAgainst(sim, { env: { CXONE_CLIENT_SECRET: WRONG_SECRET } })
    expect(run.code).toBe(1)
    expect(run.text).toContain('[FAIL] token response: 401 invalid_client (Bad client credentials)')
    expect(causes(run.text)).toEqual([
      '[wrong_client_credentials] the client id or secret is wrong (a typo, a stale secret, or the values of another app)',
      '[app_not_approved] the app registration is not approved yet, or was disabled',
      '[client_auth_method_mismatch] the app is registered for client_secret_post, not client_secret_basic: NICE fixes the method per app'
    ])
    expect(run.text).toContain('fix: run `cxone-auth-proxy check --probe`, or set CXONE_CLIENT_AUTH=client_secret_post')
    expect(run.text).not.toMatch(/API (discovery|call)/)
    expectNoSecrets(run)
  })

  it('with --probe, tries the other variants once each and rules out method and encoding', async () => {
    const before = sim.tokenRequests
    const run = await runCheckAgainst(sim, { env: { CXONE_CLIENT_SECRET: WRONG_SECRET }, probe: true })
    expect(run.code).toBe(1)
    // The configured request, then client_secret_post; Basic raw has the same bytes for an alphanumeric secret.
    expect(sim.tokenRequests - before).toBe(2)
    expect(run.text).toMatch(/client_secret_basic \(raw\) +not sent: the same bytes as the configured request/)
    expect(run.text).toMatch(/client_secret_post +401 invalid_client \(Bad client credentials\) +→ rejected/)
    expect(causes(run.text)).toEqual([
      '[wrong_client_credentials] the client id or secret is wrong (a typo, a stale secret, or the values of another app)',
      '[app_not_approved] the app registration is not approved yet, or was disabled'
    ])
    expect(run.text.split('\n').at(-1)).toBe('use: no client authentication setting found (see the causes above)')
    expectNoSecrets(run)
  })
})
