import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig, type Config } from '../src/core/config.js'
import { planReload } from '../src/runtime/reload-plan.js'

/** The reload plan is a pure function of the configuration in force and the one just read (issue 21). */
const dir = mkdtempSync(join(tmpdir(), 'cxone-reload-plan-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })
const creds = { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret', CXONE_BU_TWO_CLIENT_ID: 'id2', CXONE_BU_TWO_CLIENT_SECRET: 'secret2' }
let n = 0

function load (file: Record<string, unknown>, env: Record<string, string> = {}): Config {
  const path = join(dir, `config-${n++}.json`)
  writeFileSync(path, JSON.stringify(file))
  return loadConfig({ env: { ...creds, ...env }, configPath: path })
}

describe('planReload', () => {
  it('plans nothing when nothing changed', () => {
    const c = load({ profiles: { 'bu-two': { port: 8081 } } })
    const plan = planReload(c.profiles, load({ profiles: { 'bu-two': { port: 8081 } } }))
    expect(plan).toMatchObject({ applied: [], restartNeeded: [], logLevel: undefined })
    expect(plan.profiles.map((p) => [p.name, p.token, p.admission, p.routing])).toEqual([['default', false, false, false], ['bu-two', false, false, false]])
  })

  it('takes each part to rebuild from the table\'s reload column, and keeps what needs a restart', () => {
    const was = load({ readOnly: false, maxBodyBytes: 1000 })
    const plan = planReload(was.profiles, load({ readOnly: true, maxBodyBytes: 2000, upstreams: [{ prefix: '/x/', upstream: 'ui' }] }, { CXONE_SCOPE: 'a', LOG_LEVEL: 'debug' }))
    expect(plan.applied).toEqual(['upstreams', 'scope', 'readOnly', 'logLevel'])
    expect(plan.restartNeeded).toEqual(['maxBodyBytes'])
    expect(plan.logLevel).toBe('debug')
    const [main] = plan.profiles
    expect(main).toMatchObject({ token: true, admission: true, routing: true })
    expect(main?.next.settings.maxBodyBytes).toBe(1000)
    expect(main?.next.settings.readOnly).toBe(true)
  })

  it('names changed secrets by their variable and reports a process-wide setting once', () => {
    const was = load({ profiles: { 'bu-two': { port: 8081 } } })
    const plan = planReload(was.profiles, load({ profiles: { 'bu-two': { port: 8081, readOnly: true } } }, { CXONE_BU_TWO_CLIENT_SECRET: 'rotated', PROXY_HEADERS_TIMEOUT_MS: '5000' }))
    expect(plan.applied).toEqual(['profiles.bu-two.readOnly', 'CXONE_BU_TWO_CLIENT_SECRET'])
    expect(plan.restartNeeded).toEqual(['headersTimeoutMs'])
    expect(plan.profiles.map((p) => [p.name, p.token, p.admission])).toEqual([['default', false, false], ['bu-two', true, true]])
  })

  it('needs a restart for a profile added, removed or moved to another port', () => {
    const was = load({ profiles: { 'bu-two': { port: 8081 } } })
    expect(planReload(was.profiles, load({ profiles: { 'bu-two': { port: 8082 } } })).restartNeeded).toEqual(['profiles', 'profiles.bu-two.port'])
    expect(planReload(was.profiles, load({})).restartNeeded).toEqual(['profiles'])
  })
})
