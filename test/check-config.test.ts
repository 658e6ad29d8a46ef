import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator, DEMO_CREDENTIALS } from '../src/simulator/simulator.js'
import { expectNoSecrets, runCheckAgainst } from './helpers/check.js'

function causes (text: string): string[] {
  return [...text.matchAll(/^ {2}\d+\. (.*)$/gm)].map((m) => m[1] as string)
}

describe('check reports the configuration it found, and stops at what is missing', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator().start() })
  afterAll(async () => { await sim.stop() })

  it('missing client secret and half an access key: a failed step (not a crash), exit 2, nothing sent', async () => {
    const run = await runCheckAgainst(sim, { env: { CXONE_CLIENT_SECRET: undefined, CXONE_ACCESS_KEY_SECRET: undefined } })
    expect(run.code).toBe(2)
    expect(run.text).toMatch(/^\[FAIL\] configuration: incomplete: CXONE_CLIENT_SECRET is not set; CXONE_ACCESS_KEY_SECRET is not set but its pair is$/m)
    expect(run.text).toMatch(/CXONE_CLIENT_SECRET +unset$/m)
    expect(causes(run.text)).toEqual(['[config_missing_secret] CXONE_CLIENT_SECRET is not set', '[config_missing_secret] CXONE_ACCESS_KEY_SECRET is not set but its pair is'])
    expect(run.text).toContain('fix: set CXONE_CLIENT_SECRET, or CXONE_CLIENT_SECRET_FILE to a file holding it')
    expect(run.fetched).toEqual([])
  })

  it('names a secret read from NAME_FILE, with its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'check-secret-'))
    const path = join(dir, 'client-secret')
    writeFileSync(path, `${DEMO_CREDENTIALS.clientSecret}\n`)
    const run = await runCheckAgainst(sim, { env: { CXONE_CLIENT_SECRET: undefined, CXONE_CLIENT_SECRET_FILE: path } })
    expect(run.code).toBe(0)
    expect(run.text).toMatch(new RegExp(`CXONE_CLIENT_SECRET +CXONE_CLIENT_SECRET_FILE \\(${path}\\): <secret, 33 chars, sha256 [0-9a-f]{4}…>$`, 'm'))
    expectNoSecrets({ ...run, env: { ...run.env, CXONE_CLIENT_SECRET: DEMO_CREDENTIALS.clientSecret } })
  })

  it('names settings read from the config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'check-config-'))
    const path = join(dir, 'proxy.config.json')
    writeFileSync(path, JSON.stringify({ clientAuth: 'client_secret_basic', tokenTimeoutMs: 5000 }))
    const run = await runCheckAgainst(sim, { env: { PROXY_CONFIG: path } })
    expect(run.code).toBe(0)
    expect(run.text).toMatch(new RegExp(`config file: +${path}$`, 'm'))
    expect(run.text).toMatch(/CXONE_TOKEN_TIMEOUT_MS +config file "tokenTimeoutMs": 5000$/m)
  })

  it('a plain-http issuer off loopback: the loader refuses it, check explains, exit 2', async () => {
    const run = await runCheckAgainst(sim, { env: { CXONE_ISSUER: 'http://cxone.niceincontact.com' } })
    expect(run.code).toBe(2)
    expect(run.text).toContain('[FAIL] configuration: invalid: CXONE_ISSUER=http://cxone.niceincontact.com uses plain http off loopback')
    expect(run.text).toContain('fix: use the https:// URL (CXone\'s endpoints are all https)')
    expect(run.fetched).toEqual([])
  })

  it('an invalid value: the loader\'s message, exit 2', async () => {
    const run = await runCheckAgainst(sim, { env: { CXONE_CLIENT_AUTH: 'basic' } })
    expect(run.code).toBe(2)
    expect(causes(run.text)).toEqual(['[config_invalid_value] CXONE_CLIENT_AUTH="basic" is not valid: use one of client_secret_basic, client_secret_post'])
  })

  it('warns about whitespace around a credential', async () => {
    const run = await runCheckAgainst(sim, { env: { CXONE_CLIENT_SECRET: `${DEMO_CREDENTIALS.clientSecret} ` } })
    expect(run.text).toMatch(/^\[warn\] CXONE_CLIENT_SECRET starts or ends with whitespace/m)
    expect(run.text).toContain('401 invalid_client')
  })
})
