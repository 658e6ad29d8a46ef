import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { compileRoute } from '../src/core/paths.js'

const creds = { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret' }
const dir = mkdtempSync(join(tmpdir(), 'cxone-pace-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

function withPace (pace: unknown): string {
  const path = join(dir, 'proxy.config.json')
  writeFileSync(path, JSON.stringify({ pace }))
  return path
}

function problem (pace: unknown): string {
  const path = withPace(pace)
  try {
    loadConfig({ env: creds, configPath: path })
  } catch (err) {
    return (err as Error).message.replace(path, 'proxy.config.json')
  }
  throw new Error('expected a ConfigError')
}

describe('the "pace" setting', () => {
  it('paces Data Extraction job creation by default, one at a time and 30 s apart', () => {
    const { settings, sources } = loadConfig({ env: creds, skipDefaultFile: true })
    expect(settings.pace).toEqual([{ route: 'POST /data-extraction/*/jobs/**', method: 'POST', pattern: '/data-extraction/*/jobs/**', maxConcurrent: 1, minIntervalMs: 30_000 }])
    expect(sources.pace).toBe('default')
    expect(settings.paceMaxWaitMs).toBe(60_000)
    const rule = settings.pace[0] as { method: string, pattern: string }
    const match = compileRoute({ method: rule.method, pattern: rule.pattern })
    expect(match('POST', '/data-extraction/v1/jobs')).toBe(true)
    expect(match('POST', '/data-extraction/v1/jobs/sync')).toBe(true)
    expect(match('GET', '/data-extraction/v1/jobs/0f3c9a')).toBe(false)
    expect(match('GET', '/data-extraction/v1/jobs')).toBe(false)
  })

  it('is switched off by []', () => {
    expect(loadConfig({ env: creds, configPath: withPace([]) }).settings.pace).toEqual([])
  })

  it('reads a rule from the file', () => {
    const { settings } = loadConfig({ env: { ...creds, PROXY_PACE_MAX_WAIT_MS: '90000' }, configPath: withPace([{ route: 'POST /dfo/*/contacts/**', maxConcurrent: 2, minIntervalMs: 250 }]) })
    expect(settings.pace).toEqual([{ route: 'POST /dfo/*/contacts/**', method: 'POST', pattern: '/dfo/*/contacts/**', maxConcurrent: 2, minIntervalMs: 250 }])
    expect(settings.paceMaxWaitMs).toBe(90_000)
  })

  it.each([
    [{ route: 'POST /x' }, 'proxy.config.json: "pace" must be a list like [{ "route": "POST /data-extraction/*/jobs/**", "maxConcurrent": 1, "minIntervalMs": 30000 }], or [] to pace nothing'],
    [['POST /x'], 'proxy.config.json: "pace"[0] must be an object like { "route": "POST /data-extraction/*/jobs/**", "maxConcurrent": 1, "minIntervalMs": 30000 }'],
    [[{ route: '/x', maxConcurrent: 1, minIntervalMs: 0 }], 'proxy.config.json: "pace"[0].route = "/x" is not valid: write "METHOD /path/pattern", e.g. "POST /data-extraction/*/jobs/**"'],
    [[{ route: 'POST /x', maxConcurrent: 0, minIntervalMs: 0 }], 'proxy.config.json: "pace"[0].maxConcurrent must be a whole number from 1 to 1000, not 0'],
    [[{ route: 'POST /x', maxConcurrent: 1, minIntervalMs: 1.5 }], 'proxy.config.json: "pace"[0].minIntervalMs must be a whole number from 0 to 3600000, not 1.5'],
    [[{ route: 'POST /x', maxConcurrent: 1 }], 'proxy.config.json: "pace"[0].minIntervalMs must be a whole number from 0 to 3600000, not missing'],
    [[{ route: 'POST /x', maxConcurrent: 1, minIntervalMs: 0, interval: 5 }], 'proxy.config.json: "pace"[0] has an unknown field "interval": a pace rule has route, maxConcurrent and minIntervalMs']
  ])('refuses %j, naming the file and the field', (pace, message) => {
    expect(problem(pace)).toBe(message)
  })

  it('bounds PROXY_PACE_MAX_WAIT_MS', () => {
    expect(() => loadConfig({ env: { ...creds, PROXY_PACE_MAX_WAIT_MS: '600001' }, skipDefaultFile: true })).toThrow('PROXY_PACE_MAX_WAIT_MS="600001" is not valid: use a whole number from 0 to 600000')
  })
})
