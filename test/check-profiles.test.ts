import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCheck, type AllProfilesReport, type ProfileReport } from '../src/check/check.js'
import type { Report } from '../src/check/report.js'
import { ConfigError } from '../src/core/errors.js'
import { CxoneSimulator, DEMO_CREDENTIALS, DEMO_TENANT_ID, DEMO_TENANT_TWO } from '../src/simulator/simulator.js'
import type { FetchFn } from '../src/token/token-client.js'

/** `check --profile <name>` and `check --all` (issue 12), against one issuer serving two business units. */

const dir = mkdtempSync(join(tmpdir(), 'check-profiles-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

const TWO = DEMO_TENANT_TWO.credentials
const WRONG_SECRET = 'WrongSecondSecret0123456789abcdef'

interface Run { code: number, text: string, fetched: string[], tokens: string[] }

describe('check with profiles', () => {
  let sim: CxoneSimulator
  let configPath: string
  let env: NodeJS.ProcessEnv
  beforeAll(async () => {
    sim = await new CxoneSimulator({ otherTenants: [DEMO_TENANT_TWO] }).start()
    configPath = join(dir, 'proxy.config.json')
    writeFileSync(configPath, JSON.stringify({ issuer: sim.issuer, readOnly: true, profiles: { 'bu-two': { port: 8081 } } }))
    env = {
      CXONE_CLIENT_ID: DEMO_CREDENTIALS.clientId,
      CXONE_CLIENT_SECRET: DEMO_CREDENTIALS.clientSecret,
      CXONE_ACCESS_KEY_ID: DEMO_CREDENTIALS.accessKeyId,
      CXONE_ACCESS_KEY_SECRET: DEMO_CREDENTIALS.accessKeySecret,
      CXONE_BU_TWO_CLIENT_ID: TWO.clientId,
      CXONE_BU_TWO_CLIENT_SECRET: TWO.clientSecret,
      CXONE_BU_TWO_ACCESS_KEY_ID: TWO.accessKeyId,
      CXONE_BU_TWO_ACCESS_KEY_SECRET: TWO.accessKeySecret
    }
  })
  afterAll(async () => { await sim.stop() })

  async function check (opts: { profile?: string, all?: boolean, json?: boolean, probe?: boolean, env?: Record<string, string | undefined> }): Promise<Run> {
    const runEnv = { ...env }
    for (const [k, v] of Object.entries(opts.env ?? {})) {
      if (v === undefined) delete runEnv[k]
      else runEnv[k] = v
    }
    const fetched: string[] = []
    const tokens: string[] = []
    const recording: FetchFn = async (url, init) => {
      fetched.push(url)
      const res = await globalThis.fetch(url, init)
      if (new URL(url).pathname === '/auth/token') {
        const body = JSON.parse(await res.clone().text()) as Record<string, unknown>
        for (const k of ['access_token', 'refresh_token', 'id_token']) if (typeof body[k] === 'string') tokens.push(body[k])
      }
      return res
    }
    const lines: string[] = []
    const code = await runCheck({ env: runEnv, configPath, cwd: dir, probe: opts.probe === true, json: opts.json === true, profile: opts.profile, all: opts.all, out: (l) => { lines.push(l) }, fetch: recording })
    return { code, text: lines.join('\n'), fetched, tokens }
  }
  function expectNoSecrets (run: Run): void {
    for (const secret of [TWO.clientSecret, TWO.accessKeySecret, TWO.accessKeyId, TWO.clientId, DEMO_CREDENTIALS.clientSecret, DEMO_CREDENTIALS.accessKeySecret, WRONG_SECRET, ...run.tokens]) {
      expect(run.text, `leaked ${secret.slice(0, 3)}…`).not.toContain(secret)
    }
  }
  const tenantOf = (r: Report): unknown => r.steps.find((s) => s.name === 'token response')?.details.tenantId

  it('--profile diagnoses that business unit with its own credentials and tenant, named in the report', async () => {
    const run = await check({ profile: 'bu-two', json: true })
    expect(run.code).toBe(0)
    const report = JSON.parse(run.text) as ProfileReport
    expect(Object.keys(report)).toEqual(['name', 'ok', 'exitCode', 'steps', 'warnings'])
    expect(report).toMatchObject({ name: 'bu-two', ok: true, exitCode: 0 })
    expect(tenantOf(report)).toBe(DEMO_TENANT_TWO.tenantId)
    expect(report.steps[0]?.details.variables).toMatchObject({
      CXONE_BU_TWO_CLIENT_ID: { from: 'env', value: '5a7c2e91…' },
      CXONE_BU_TWO_CLIENT_SECRET: { from: 'env' },
      'profiles.bu-two.issuer': { from: 'inherited (config file "issuer")', value: sim.issuer },
      'profiles.bu-two.apiUrl': { from: 'unset', value: '(discovered from the issuer)' },
      'profiles.bu-two.grantType': { from: 'derived', value: 'password' }
    })
    expect(report.steps.find((s) => s.name === 'token request')?.details.body).toBe('grant_type=password&username=<CXONE_BU_TWO_ACCESS_KEY_ID>&password=<CXONE_BU_TWO_ACCESS_KEY_SECRET>')
    expectNoSecrets(run)
  })

  it('without a flag diagnoses the default profile, in the report shape it always had', async () => {
    const run = await check({ json: true })
    expect(run.code).toBe(0)
    const report = JSON.parse(run.text) as Report
    expect(Object.keys(report)).toEqual(['ok', 'exitCode', 'steps', 'warnings'])
    expect(tenantOf(report)).toBe(DEMO_TENANT_ID)
    expect(report.steps[0]?.details.variables).toHaveProperty('CXONE_CLIENT_ID')
  })

  it('a profile never takes the environment\'s API or token URL: it discovers its own', async () => {
    const run = await check({ profile: 'bu-two', json: true, env: { CXONE_API_URL: 'http://127.0.0.1:9/', CXONE_TOKEN_URL: 'http://127.0.0.1:9/auth/token' } })
    expect(run.code).toBe(0)
    expect(run.fetched.filter((u) => u.startsWith('http://127.0.0.1:9/'))).toEqual([])
    expect(run.fetched).toEqual([
      `${sim.issuer}/.well-known/openid-configuration`,
      `${sim.origin}/auth/token`,
      `${sim.issuer}/.well-known/cxone-configuration?tenantId=${DEMO_TENANT_TWO.tenantId}`,
      `${sim.origin}/inContactAPI/services/v25.0/server-time`,
      // The routing step reads the same document for the ui and digital hosts (issue 11).
      `${sim.issuer}/.well-known/cxone-configuration?tenantId=${DEMO_TENANT_TWO.tenantId}`
    ])
  })

  it('--all runs every profile in turn and exits 1 when one profile\'s secret is rejected', async () => {
    const run = await check({ all: true, json: true, env: { CXONE_BU_TWO_CLIENT_SECRET: WRONG_SECRET } })
    expect(run.code).toBe(1)
    const all = JSON.parse(run.text) as AllProfilesReport
    expect(Object.keys(all)).toEqual(['ok', 'exitCode', 'profiles'])
    expect([all.ok, all.exitCode]).toEqual([false, 1])
    expect(all.profiles.map((p) => [p.name, p.ok, p.exitCode])).toEqual([['default', true, 0], ['bu-two', false, 1]])
    expect(all.profiles[1]?.steps.find((s) => s.name === 'token response')?.details).toMatchObject({ status: 401, error: 'invalid_client' })
    expect(all.profiles[1]?.diagnosis?.causes[0]).toMatchObject({ code: 'wrong_client_credentials', fix: expect.stringContaining('compare CXONE_BU_TWO_CLIENT_ID and the secret\'s length') as string })
    expect(all.profiles[1]?.diagnosis?.causes[0]?.fix).toContain('printf %s "$CXONE_BU_TWO_CLIENT_SECRET" | sha256sum')
    expect(all.profiles[1]?.diagnosis?.causes[2]?.fix).toBe('run `cxone-auth-proxy check --probe`, or set profiles.bu-two.clientAuth=client_secret_post')
    expectNoSecrets(run)
  })

  it('--all as text: each profile under its name and port, then one line each and the result', async () => {
    const run = await check({ all: true, env: { CXONE_BU_TWO_CLIENT_SECRET: undefined } })
    expect(run.code).toBe(2)
    const lines = run.text.split('\n')
    expect(lines.filter((l) => l.startsWith('== '))).toEqual(['== profile default (port 8080) ==', '== profile bu-two (port 8081) ==', '== all profiles =='])
    expect(run.text).toMatch(/^\[FAIL\] configuration: incomplete: CXONE_BU_TWO_CLIENT_SECRET is not set$/m)
    expect(run.text).toMatch(/CXONE_BU_TWO_CLIENT_SECRET +unset$/m)
    expect(lines.slice(lines.indexOf('== all profiles =='))).toEqual([
      '== all profiles ==',
      '  default  OK',
      '  bu-two   FAILED (exit 2): the configuration is incomplete, so no token request was sent',
      '',
      'result: FAILED (exit 2): 1 of 2 profiles failed (bu-two)'
    ])
    // Nothing was sent for the incomplete profile: one walk's requests only.
    expect(run.fetched.filter((u) => u.endsWith('/auth/token'))).toHaveLength(1)
    expectNoSecrets(run)
  })

  it('--all passes when every profile passes', async () => {
    const run = await check({ all: true })
    expect(run.code).toBe(0)
    expect(run.text).toMatch(/^result: OK: all 2 profiles obtained a token and the API answered$/m)
  })

  it('--probe names the profile\'s own setting to use', async () => {
    const post = await new CxoneSimulator({ clientAuth: 'client_secret_post', otherTenants: [DEMO_TENANT_TWO] }).start()
    try {
      const other = join(dir, 'post.json')
      writeFileSync(other, JSON.stringify({ profiles: { 'bu-two': { port: 8081, issuer: post.issuer } } }))
      const lines: string[] = []
      const code = await runCheck({ env, configPath: other, cwd: dir, probe: true, json: true, profile: 'bu-two', out: (l) => { lines.push(l) }, fetch: async (url, init) => await globalThis.fetch(url, init) })
      const report = JSON.parse(lines.join('\n')) as ProfileReport
      expect(code).toBe(1)
      expect(report.probe?.use).toEqual({ 'profiles.bu-two.clientAuth': 'client_secret_post' })
      expect(report.diagnosis?.causes[0]?.fix).toBe('set profiles.bu-two.clientAuth=client_secret_post')
    } finally {
      await post.stop()
    }
  })

  it('an unknown profile is one error naming the known ones', async () => {
    await expect(check({ profile: 'emea' })).rejects.toThrow(new ConfigError('--profile emea: no such profile; the profiles are default, bu-two'))
    await expect(check({ profile: 'bu-two', all: true })).rejects.toThrow(ConfigError)
  })

  it('a configuration that does not load is reported once, with --all as with no flag', async () => {
    const run = await check({ all: true, json: true, env: { PROXY_PORT: '8081' } })
    expect(run.code).toBe(2)
    const report = JSON.parse(run.text) as AllProfilesReport & Report
    expect(report.profiles).toEqual([])
    expect(report.diagnosis?.causes.map((c) => c.code)).toEqual(['config_port_conflict'])
    expect(run.fetched).toEqual([])
  })
})
