import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator, DEMO_CREDENTIALS, DEMO_TENANT_TWO } from '../src/simulator/simulator.js'
import { simulatorEnv } from './helpers/harness.js'
import { NO_CONFIG_DIR } from './helpers/check.js'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))

interface Exit { code: number | null, stdout: string, stderr: string }

/** Runs the compiled CLI as `npm run check` does; async, so the simulator in this process can answer. */
async function cli (args: string[], env: NodeJS.ProcessEnv): Promise<Exit> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH, ...env }, cwd: NO_CONFIG_DIR })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => { resolve({ code, stdout, stderr }) })
  })
}

describe('the compiled CLI: cxone-auth-proxy check', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator().start() })
  afterAll(async () => { await sim.stop() })

  it('exits 0 when a token was obtained and the API call answered', async () => {
    const r = await cli(['check'], simulatorEnv(sim))
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^result: OK/m)
    expect(r.code).toBe(0)
  })

  it('exits 1 when the token endpoint rejects the client, and prints no secret', async () => {
    const r = await cli(['check', '--probe'], simulatorEnv(sim, { CXONE_CLIENT_SECRET: 'WrongClientSecret0123456789abcdef' }))
    expect(r.stdout).toContain('401 invalid_client')
    expect(r.stdout).not.toContain('WrongClientSecret0123456789abcdef')
    expect(r.stdout).not.toContain(DEMO_CREDENTIALS.accessKeySecret)
    expect(r.code).toBe(1)
  })

  it('exits 2 when the configuration is incomplete', async () => {
    const env = simulatorEnv(sim)
    delete env.CXONE_CLIENT_ID
    const r = await cli(['check', '--json'], env)
    const report = JSON.parse(r.stdout) as { ok: boolean, exitCode: number }
    expect(report).toMatchObject({ ok: false, exitCode: 2 })
    expect(r.code).toBe(2)
  })

  describe('with profiles (issue 12)', () => {
    let two: CxoneSimulator
    let config: string
    beforeAll(async () => {
      two = await new CxoneSimulator({ otherTenants: [DEMO_TENANT_TWO] }).start()
      config = join(NO_CONFIG_DIR, 'profiles.json')
      writeFileSync(config, JSON.stringify({ profiles: { 'bu-two': { port: 8081, issuer: two.issuer } } }))
    })
    afterAll(async () => { await two.stop() })
    const buTwo = (secret: string): NodeJS.ProcessEnv => ({
      CXONE_BU_TWO_CLIENT_ID: DEMO_TENANT_TWO.credentials.clientId,
      CXONE_BU_TWO_CLIENT_SECRET: secret,
      CXONE_BU_TWO_ACCESS_KEY_ID: DEMO_TENANT_TWO.credentials.accessKeyId,
      CXONE_BU_TWO_ACCESS_KEY_SECRET: DEMO_TENANT_TWO.credentials.accessKeySecret
    })

    it('check --all exits 0 when every profile passes, and 1 when one profile\'s secret is rejected', async () => {
      const ok = await cli(['check', '--all', '--config', config], { ...simulatorEnv(sim), ...buTwo(DEMO_TENANT_TWO.credentials.clientSecret) })
      expect(ok.stdout).toMatch(/^result: OK: all 2 profiles/m)
      expect(ok.code).toBe(0)
      const r = await cli(['check', '--all', '--config', config], { ...simulatorEnv(sim), ...buTwo('WrongSecondSecret0123456789abcdef') })
      expect(r.stdout).toMatch(/^ {2}bu-two {3}FAILED \(exit 1\)/m)
      expect(r.stdout).not.toContain('WrongSecondSecret0123456789abcdef')
      expect(r.code).toBe(1)
    })

    it('check --profile <name> checks that one; an unknown name is one line naming the known ones, exit 2', async () => {
      const r = await cli(['check', '--profile', 'bu-two', '--json', '--config', config], { ...simulatorEnv(sim), ...buTwo(DEMO_TENANT_TWO.credentials.clientSecret) })
      expect(JSON.parse(r.stdout)).toMatchObject({ name: 'bu-two', ok: true })
      expect(r.code).toBe(0)
      const unknown = await cli(['check', '--profile', 'emea', '--config', config], simulatorEnv(sim))
      expect(unknown).toEqual({ code: 2, stdout: '', stderr: 'cxone-auth-proxy: --profile emea: no such profile; the profiles are default, bu-two\n' })
    })
  })
})
