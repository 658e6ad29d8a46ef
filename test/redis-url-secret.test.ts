import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { effectiveSettings } from '../src/runtime/effective-settings.js'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { runCheckAgainst } from './helpers/check.js'

/** REDIS_URL is one of the secrets the start-up line and `check` know: shown as set, never its value (issue 21). */
const PASSWORD = 'r3dis-pa55word'
const URL_WITH_PASSWORD = `redis://:${PASSWORD}@127.0.0.1:6390/0`
const dir = mkdtempSync(join(tmpdir(), 'cxone-redis-secret-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })
const creds = { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret' }

describe('REDIS_URL as a secret', () => {
  it('is listed in the start-up line\'s secrets by where it came from, never its value', () => {
    const file = join(dir, 'redis-url')
    writeFileSync(file, URL_WITH_PASSWORD)
    const fromEnv = effectiveSettings(loadConfig({ env: { ...creds, REDIS_URL: URL_WITH_PASSWORD }, skipDefaultFile: true }))
    expect(fromEnv.secrets).toEqual({ CXONE_CLIENT_ID: 'env', CXONE_CLIENT_SECRET: 'env', REDIS_URL: 'env' })
    expect(JSON.stringify(fromEnv)).not.toContain(PASSWORD)
    const fromFile = effectiveSettings(loadConfig({ env: { ...creds, REDIS_URL_FILE: file }, skipDefaultFile: true }))
    expect(fromFile.secrets).toEqual({ CXONE_CLIENT_ID: 'env', CXONE_CLIENT_SECRET: 'env', REDIS_URL: 'REDIS_URL_FILE' })
    const unset = effectiveSettings(loadConfig({ env: creds, skipDefaultFile: true }))
    expect(unset.secrets).toEqual({ CXONE_CLIENT_ID: 'env', CXONE_CLIENT_SECRET: 'env' })
  })

  describe('check', () => {
    let sim: CxoneSimulator
    beforeAll(async () => { sim = await new CxoneSimulator().start() })
    afterAll(async () => { await sim.stop() })

    it('lists it as set in the configuration step, never its value or password', async () => {
      const run = await runCheckAgainst(sim, { json: true, env: { REDIS_URL: URL_WITH_PASSWORD } })
      expect(run.text).not.toContain(PASSWORD)
      const report = JSON.parse(run.text) as { steps: Array<{ name: string, details?: { variables?: Record<string, unknown> } }> }
      const config = report.steps.find((s) => s.name === 'configuration')
      expect(config?.details?.variables?.REDIS_URL).toEqual({ from: 'env', value: '(set)' })
    })
  })
})
