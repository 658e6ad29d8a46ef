import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCheck } from '../src/check/check.js'
import { keyFingerprint } from '../src/core/caller-keys.js'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { runCheckAgainst } from './helpers/check.js'
import { runProcess } from './helpers/run-process.js'

/** Issue 22: `check` shows each profile's callers, warns of what they cannot get, and judges one caller's call. */

const dir = mkdtempSync(join(tmpdir(), 'check-callers-'))
const KEYS = { PROXY_CALLER_WALLBOARD_KEY: 'wallboard-0123456789abcdef', PROXY_CALLER_EXPORT_KEY: 'export-0123456789abcdef', PROXY_CALLER_AGENT_KEY: 'agent-0123' }
const config = join(dir, 'proxy.config.json')
const locked = join(dir, 'locked')
mkdirSync(locked)
writeFileSync(config, JSON.stringify({
  routes: ['GET /inContactAPI/services/*/skills/**', 'GET /inContactAPI/services/*/agents/**', 'GET /data-extraction/**', 'POST /data-extraction/*/jobs/**'],
  callers: {
    wallboard: { preset: 'reporting', rate: { perSecond: 2, burst: 5 } },
    export: { routes: ['POST /data-extraction/*/jobs/**', 'GET /data-extraction/**', 'DELETE /data-extraction/**'], maxConcurrent: 1 },
    agent: { readOnly: true, enforce: false, socket: join(locked, 'sub', 'agent.sock') }
  }
}))

async function verdict (caller: string, route: string): Promise<{ code: number, text: string }> {
  const lines: string[] = []
  const code = await runCheck({ env: { ...KEYS }, configPath: config, probe: false, json: false, caller, route, out: (l) => { lines.push(l) }, fetch: async () => { throw new Error('check --caller sends nothing') } })
  return { code, text: lines.join('\n') }
}

describe('check --caller <name> --route "METHOD /path"', () => {
  it('says a caller may make a call, and by which rule', async () => {
    const run = await verdict('export', 'POST /data-extraction/v1/jobs')
    expect(run.code).toBe(0)
    expect(run.text).toContain('caller "export" may call POST /data-extraction/v1/jobs: callers.export.routes "POST /data-extraction/*/jobs/**"')
    const wallboard = await verdict('wallboard', 'GET /inContactAPI/services/v31.0/skills/activity?top=10')
    expect(wallboard.code).toBe(0)
    expect(wallboard.text).toContain('caller "wallboard" may call GET /inContactAPI/services/v31.0/skills/activity: preset reporting\'s "GET /incontactapi/services/*/skills/activity"')
  })

  it('says it may not, with the setting that would allow it; a caller can never exceed its profile', async () => {
    const run = await verdict('wallboard', 'POST /inContactAPI/services/v31.0/agents/1/logout')
    expect(run.code).toBe(1)
    expect(run.text).toContain('caller "wallboard" may not call POST /inContactAPI/services/v31.0/agents/1/logout: 403 forbidden_route')
    expect(run.text).toContain('the profile refuses it: it is not in the profile\'s "routes" (routes); a caller can never exceed its profile')
    const own = await verdict('wallboard', 'GET /inContactAPI/services/v31.0/agents/1/skills')
    expect(own.code).toBe(1)
    expect(own.text).toContain('caller "wallboard" may not call GET /inContactAPI/services/v31.0/agents/1/skills: 403 caller_forbidden\n')
    expect(own.text).toContain('caller "wallboard" may not call GET /inContactAPI/services/v31.0/agents/1/skills: it is not among the routes of its callers.wallboard.preset "reporting"')
    const shadow = await verdict('agent', 'POST /data-extraction/v1/jobs')
    expect(shadow.code).toBe(1)
    expect(shadow.text).toContain('caller "agent" may not call POST /data-extraction/v1/jobs: 403 caller_forbidden (shadow mode: the call would be forwarded, and the refusal logged and counted)')
    expect(shadow.text).toContain('caller "agent" may not call POST: its callers.agent.readOnly is true')
    expect(shadow.text).not.toContain('result:')
  })

  it('names the known callers for an unknown one; the command line gives the same verdict', async () => {
    await expect(verdict('wallbored', 'GET /x')).rejects.toThrow('--caller wallbored: profile "default" has no such caller; its callers are wallboard, export, agent')
    const cli = await runProcess(process.execPath, ['dist/main.js', 'check', '--config', config, '--caller', 'export', '--route', 'GET /data-extraction/v1/jobs'], KEYS)
    expect(cli.stdout).toContain('caller "export" may call GET /data-extraction/v1/jobs: callers.export.routes "GET /data-extraction/**"')
    expect(cli.code).toBe(0)
  })
})

describe('check of a profile with callers', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator().start() })
  afterAll(async () => { await sim.stop() })

  it('lists each caller, its key only as a fingerprint, and warns of wider rules, short keys and unwritable socket folders', async () => {
    const run = await runCheckAgainst(sim, { env: { ...KEYS, PROXY_CONFIG: config } })
    expect(run.text).toMatch(/callers.*3 named \(wallboard, export, agent\); a call no caller is recognised in is refused \(401\)/)
    expect(run.text).toContain(keyFingerprint(KEYS.PROXY_CALLER_WALLBOARD_KEY))
    for (const key of Object.values(KEYS)) expect(run.text).not.toContain(key)
    expect(run.text).toContain('caller "export": "routes"[2] "DELETE /data-extraction/**" is wider than its profile\'s "routes"')
    expect(run.text).toContain('caller "wallboard": preset "reporting"\'s "GET /incontactapi/services/*/contacts/active" is wider than its profile\'s "routes"')
    expect(run.text).toContain('caller "agent": a key of PROXY_CALLER_AGENT_KEY is shorter than 16 characters')
    expect(run.text).toContain(`caller "agent": the folder of its socket ${join(locked, 'sub', 'agent.sock')} cannot be written (ENOENT)`)
  })
})
