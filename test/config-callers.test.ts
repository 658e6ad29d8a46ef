import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { findProfile, loadConfig, type Config } from '../src/core/config.js'
import { callerKeyFiles, keyFingerprint } from '../src/core/caller-keys.js'
import { patternCovers } from '../src/core/caller-rules.js'
import type { CallerSet } from '../src/core/callers.js'
import { problems } from './helpers/config-problems.js'

/** Issue 22: named callers in proxy.config.json, their keys from the environment or a folder, never the file. */

const dir = mkdtempSync(join(tmpdir(), 'cxone-callers-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })
let files = 0
function file (text: string, name = `f-${++files}`): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}
const creds = { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret', CXONE_BU_TWO_CLIENT_ID: 'id-2', CXONE_BU_TWO_CLIENT_SECRET: 'secret-2' }
const KEY_A = 'wallboard-key-0123456789abcdef'
const KEY_B = 'export-key-0123456789abcdef'

function load (data: unknown, env: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({ env: { ...creds, ...env }, configPath: file(JSON.stringify(data), `config-${++files}.json`) })
}
function callersOf (c: Config, name = 'default'): CallerSet {
  const set = findProfile(c, name)?.callers
  if (set === undefined) throw new Error(`no callers in ${name}`)
  return set
}

describe('a configuration without callers', () => {
  it('has none: every profile behaves as before', () => {
    const c = load({ profiles: { 'bu-two': { port: 8081 } } }, { PROXY_API_KEYS: 'k1,k2' })
    expect(c.profiles.map((p) => p.callers)).toEqual([undefined, undefined])
  })
})

describe('callers', () => {
  it('are read with their policies, keys from PROXY_CALLER_<NAME>_KEY, _KEY_FILE and a profile\'s own variables', () => {
    const c = load({
      callers: {
        wallboard: { preset: 'reporting', rate: { perSecond: 2, burst: 5 }, maxConcurrent: 2 },
        'export-job': { routes: ['POST /data-extraction/*/jobs/**', 'GET /data-extraction/**'], enforce: false }
      },
      profiles: { 'bu-two': { port: 8081, callers: { agent: { readOnly: true, socket: join(dir, 'agent.sock'), socketMode: '0660' } } } }
    }, { PROXY_CALLER_WALLBOARD_KEY: KEY_A, PROXY_CALLER_EXPORT_JOB_KEY_FILE: file(`${KEY_B}\n\n${KEY_B}-next\n`), PROXY_BU_TWO_CALLER_AGENT_KEY: 'agent-key-0123456789abcdef' })
    const main = callersOf(c)
    expect(main.callers.map((x) => x.name)).toEqual(['wallboard', 'export-job'])
    const wallboard = main.byName.get('wallboard')
    expect(wallboard).toMatchObject({ preset: 'reporting', rate: { perSecond: 2, burst: 5 }, maxConcurrent: 2, enforce: true, socket: undefined, socketMode: 0o600, keyOrigin: 'PROXY_CALLER_WALLBOARD_KEY', fingerprints: [keyFingerprint(KEY_A)] })
    expect(wallboard?.keys).toEqual([KEY_A])
    const exportJob = main.byName.get('export-job')
    expect(exportJob?.keys).toEqual([KEY_B, `${KEY_B}-next`])
    expect(exportJob).toMatchObject({ enforce: false, keyOrigin: 'PROXY_CALLER_EXPORT_JOB_KEY_FILE', routes: [{ method: 'POST', pattern: '/data-extraction/*/jobs/**' }, { method: 'GET', pattern: '/data-extraction/**' }] })
    const agent = callersOf(c, 'bu-two').byName.get('agent')
    expect(agent).toMatchObject({ profile: 'bu-two', readOnly: true, socketMode: 0o660, keyOrigin: 'PROXY_BU_TWO_CALLER_AGENT_KEY' })
  })

  it('never show a key when logged or serialised', () => {
    const c = load({ callers: { wallboard: {} } }, { PROXY_CALLER_WALLBOARD_KEY: KEY_A })
    const text = JSON.stringify(callersOf(c).callers) + JSON.stringify(findProfile(c, 'default'))
    expect(text).not.toContain(KEY_A)
    expect(text).toContain(keyFingerprint(KEY_A))
  })

  it('take PROXY_API_KEYS as the keys of the caller "api-keys", with the profile\'s policy unless the file names it', () => {
    const c = load({ callers: { wallboard: {} } }, { PROXY_CALLER_WALLBOARD_KEY: KEY_A, PROXY_API_KEYS: 'old-one,old-two' })
    const apiKeys = callersOf(c).byName.get('api-keys')
    expect(apiKeys).toMatchObject({ implicit: true, readOnly: false, routes: [], keyOrigin: 'PROXY_API_KEYS' })
    expect(apiKeys?.keys).toEqual(['old-one', 'old-two'])
    const named = callersOf(load({ callers: { 'api-keys': { readOnly: true } } }, { PROXY_API_KEYS: 'old-one' })).byName.get('api-keys')
    expect(named).toMatchObject({ implicit: false, readOnly: true })
  })

  it('read keys from PROXY_CALLER_KEYS_DIR, skipping a Kubernetes Secret volume\'s ..data entries and dotfiles', () => {
    const keys = join(dir, 'keys')
    const data = join(keys, '..2026_12_07_22_00_00.1')
    mkdirSync(data, { recursive: true })
    writeFileSync(join(data, 'wallboard'), `${KEY_A}\n`)
    writeFileSync(join(data, 'bu-two.agent'), 'agent-key-0123456789abcdef')
    symlinkSync('..2026_12_07_22_00_00.1', join(keys, '..data'))
    symlinkSync('..data/wallboard', join(keys, 'wallboard'))
    symlinkSync('..data/bu-two.agent', join(keys, 'bu-two.agent'))
    writeFileSync(join(keys, '.hidden'), 'x')
    writeFileSync(join(keys, 'stray'), 'stray-key-0123456789abcdef')
    const c = load({ callers: { wallboard: {} }, profiles: { 'bu-two': { port: 8081, callers: { agent: {} } } } }, { PROXY_CALLER_KEYS_DIR: keys })
    expect(callersOf(c).byName.get('wallboard')).toMatchObject({ keyOrigin: 'PROXY_CALLER_KEYS_DIR/wallboard', fingerprints: [keyFingerprint(KEY_A)] })
    expect(callersOf(c, 'bu-two').byName.get('agent')?.keyOrigin).toBe('PROXY_CALLER_KEYS_DIR/bu-two.agent')
    expect(callersOf(c).notes).toEqual(['PROXY_CALLER_KEYS_DIR holds a file "stray" that names no caller: remove it, or add the caller'])
  })

  it('with PROXY_CALLERS_ENFORCE=false are all in shadow mode', () => {
    const set = callersOf(load({ callers: { wallboard: {}, agent: { enforce: true } } }, { PROXY_CALLER_WALLBOARD_KEY: KEY_A, PROXY_CALLER_AGENT_KEY: KEY_B, PROXY_CALLERS_ENFORCE: 'false' }))
    expect(set.callers.map((x) => x.enforce)).toEqual([false, false])
    expect(set.refuseUnidentified).toBe(false)
  })

  it('name the loopback caller, which needs no key', () => {
    const set = callersOf(load({ callers: { local: { loopback: true, readOnly: true } } }))
    expect(set.loopback?.name).toBe('local')
  })
})

describe('a mistake in callers', () => {
  it('is one message naming the caller and the field, every problem at once', () => {
    const env = { PROXY_CALLER_A_KEY: 'a-key-0123456789abcdef', PROXY_CALLER_B_KEY: 'b-key-0123456789abcdef', PROXY_CALLER_C_KEY: 'c-key-0123456789abcdef', PROXY_CALLER_D_KEY: 'd-key-0123456789abcdef', PROXY_CALLER_E_KEY: 'e-key-0123456789abcdef', PROXY_CALLER_F_KEY: 'f-key-0123456789abcdef', PROXY_CALLER_G_KEY: 'g-key-0123456789abcdef' }
    const path = join(dir, 'bad.json')
    writeFileSync(path, JSON.stringify({
      callers: {
        Wallboard: {},
        a: { redOnly: true },
        b: { key: 'secret-in-file' },
        c: { preset: 'admin' },
        d: { rate: { perSecond: 0 } },
        e: { routes: ['skills'] },
        f: { socketMode: '0600' },
        g: { socket: '/tmp/g.sock', socketMode: '0666' },
        h: {}
      }
    }))
    const where = `config file ${path}`
    expect(problems(() => loadConfig({ env: { ...creds, ...env }, configPath: path }))).toEqual([
      { code: 'config_invalid_value', message: `${where}: caller name "Wallboard" is not valid: use 1 to 32 lowercase letters, digits and -, like "wallboard"` },
      { code: 'config_unknown_setting', message: `${where}: caller "a": unknown field "redOnly": a caller has readOnly, routes, preset, rate, maxConcurrent, enforce, socket, socketMode, loopback` },
      { code: 'config_unknown_setting', message: `${where}: caller "b": "key" is a secret and is not read from files: set PROXY_CALLER_B_KEY (or PROXY_CALLER_B_KEY_FILE, or a file b in PROXY_CALLER_KEYS_DIR) and remove it from the file` },
      { code: 'config_invalid_value', message: `${where}: caller "c": "preset" "admin" is not one: use "read-only" or "reporting" (docs/callers.md#presets), or write "readOnly" and "routes"` },
      { code: 'config_invalid_value', message: `${where}: caller "d": "rate.perSecond" must be a number of upstream calls a second from 0.001 to 10000 (0.5: one call every 2 s), not 0` },
      { code: 'config_invalid_value', message: `${where}: caller "e": "routes"[0] = "skills" is not valid: write "METHOD /path/pattern", e.g. "GET /inContactAPI/services/*/skills/**"` },
      { code: 'config_invalid_value', message: `${where}: caller "f": "socketMode" needs a "socket": give the caller a socket path, or remove "socketMode"` },
      { code: 'config_unsafe', message: `${where}: caller "g": "socketMode" 0666 lets every user of this machine connect as caller "g": use "0600", or "0660" and the socket folder's group` },
      { code: 'config_missing_secret', message: `${where}: caller "h" has no key and no socket, so nothing can be recognised as it: set PROXY_CALLER_H_KEY (or PROXY_CALLER_H_KEY_FILE, or a file h in PROXY_CALLER_KEYS_DIR), or give it a "socket"` }
    ])
  })

  it('a key shared by two callers, a socket shared, two loopback callers, a key set twice', () => {
    const keys = join(dir, 'keys-twice')
    mkdirSync(keys)
    writeFileSync(join(keys, 'c'), 'c-key-0123456789abcdef')
    const path = join(dir, 'shared.json')
    writeFileSync(path, JSON.stringify({ callers: { a: { loopback: true }, b: { loopback: true }, c: { socket: '/tmp/x.sock' }, d: { socket: '/tmp/x.sock' } } }))
    const where = `config file ${path}`
    const env = { ...creds, PROXY_CALLER_A_KEY: KEY_A, PROXY_CALLER_B_KEY: KEY_A, PROXY_CALLER_C_KEY: 'other', PROXY_CALLER_KEYS_DIR: keys }
    expect(problems(() => loadConfig({ env, configPath: path }))).toEqual([
      { code: 'config_conflicting_secret', message: `${where}: caller "c": its keys are set twice (PROXY_CALLER_C_KEY and PROXY_CALLER_KEYS_DIR/c): keep one of them` },
      { code: 'config_conflicting_secret', message: `${where}: caller "b" and caller "a" share a key (${keyFingerprint(KEY_A)}, key 1 of PROXY_CALLER_B_KEY): give each caller a key of its own` },
      { code: 'config_invalid_value', message: `${where}: callers "a" and "b" each say "loopback": true: only one caller can be the one for unidentified loopback calls` }
    ])
    writeFileSync(path, JSON.stringify({ callers: { c: { socket: '/tmp/x.sock' }, d: { socket: '/tmp/x.sock' } } }))
    expect(problems(() => loadConfig({ env: creds, configPath: path }))).toEqual([
      { code: 'config_invalid_value', message: `${where}: caller "d" and caller "c" share the socket /tmp/x.sock: give each caller a socket of its own` }
    ])
  })

  it('an empty "callers", which would refuse every call (unless PROXY_API_KEYS make the caller api-keys)', () => {
    const path = join(dir, 'empty.json')
    writeFileSync(path, JSON.stringify({ callers: {} }))
    expect(problems(() => loadConfig({ env: creds, configPath: path }))).toEqual([
      { code: 'config_invalid_value', message: `config file ${path}: "callers" names no caller, so every call would be refused: name one, like {"wallboard": {"preset": "reporting"}}, or remove "callers"` }
    ])
    expect(callersOf(loadConfig({ env: { ...creds, PROXY_API_KEYS: 'legacy-0123456789abcdef' }, configPath: path })).callers.map((c) => c.name)).toEqual(['api-keys'])
  })

  it('in a named profile names the profile too, and its own key variable', () => {
    const path = join(dir, 'profile.json')
    writeFileSync(path, JSON.stringify({ profiles: { 'bu-two': { port: 8081, callers: { agent: {} } } } }))
    expect(problems(() => loadConfig({ env: creds, configPath: path }))).toEqual([
      { code: 'config_missing_secret', message: `config file ${path}: profile "bu-two": caller "agent" has no key and no socket, so nothing can be recognised as it: set PROXY_BU_TWO_CALLER_AGENT_KEY (or PROXY_BU_TWO_CALLER_AGENT_KEY_FILE, or a file bu-two.agent in PROXY_CALLER_KEYS_DIR), or give it a "socket"` }
    ])
  })
})

describe('a caller rule wider than its profile\'s', () => {
  it('loads (the profile\'s rules still apply) and is noted for check', () => {
    const set = callersOf(load({
      routes: ['GET /inContactAPI/services/*/skills/**', 'GET /data-extraction/**'],
      callers: {
        narrow: { routes: ['GET /inContactAPI/services/v31.0/skills/activity', 'GET /data-extraction/v1/jobs/*'] },
        wide: { routes: ['GET /inContactAPI/services/*/agents/states', '* /data-extraction/**'] },
        wallboard: { preset: 'reporting' }
      }
    }, { PROXY_CALLER_NARROW_KEY: 'narrow-key-0123456789ab', PROXY_CALLER_WIDE_KEY: 'wide-key-0123456789abcd', PROXY_CALLER_WALLBOARD_KEY: KEY_A }))
    expect(set.notes.filter((n) => n.startsWith('caller "narrow"'))).toEqual([])
    expect(set.notes.filter((n) => n.startsWith('caller "wide"'))).toEqual([
      'caller "wide": "routes"[0] "GET /inContactAPI/services/*/agents/states" is wider than its profile\'s "routes" (no rule of the profile covers all of it): what lies outside them is refused anyway; narrow the caller\'s rule, or widen the profile\'s "routes"',
      'caller "wide": "routes"[1] "* /data-extraction/**" is wider than its profile\'s "routes" (no rule of the profile covers all of it): what lies outside them is refused anyway; narrow the caller\'s rule, or widen the profile\'s "routes"'
    ])
    // The reporting preset reads agents and contacts and creates extraction jobs: beyond this profile's skills-only reads.
    expect(set.notes.filter((n) => n.startsWith('caller "wallboard"')).length).toBeGreaterThan(3)
    expect(set.notes.some((n) => n.includes('"GET /incontactapi/services/*/skills/activity"'))).toBe(false)
  })

  it('against a read-only profile: a caller rule that writes', () => {
    const set = callersOf(load({ readOnly: true, callers: { job: { routes: ['POST /data-extraction/*/jobs/**'] } } }, { PROXY_CALLER_JOB_KEY: KEY_B }))
    expect(set.notes).toEqual(['caller "job": "routes"[0] "POST /data-extraction/*/jobs/**" allows POST, but the profile is read-only ("readOnly"): those calls are refused anyway; narrow the caller\'s rule to GET, or lift the profile\'s "readOnly"'])
  })

  it('is judged by pattern containment: * within a segment, ** across them, a trailing /** also matching nothing', () => {
    const cases: Array<[string, string, boolean]> = [
      ['/a/**', '/a', true], ['/a/**', '/a/b/c', true], ['/a/**', '/a/*/c', true], ['/a/**', '/ab', false],
      ['/a/*', '/a/b', true], ['/a/*', '/a/*', true], ['/a/*', '/a/**', false], ['/a/*', '/a/b/c', false],
      ['/a/*/c', '/a/b*/c', true], ['/a/b*', '/a/*', false], ['/**', '/anything/**', true], ['/a/**/z', '/a/b/c/z', true],
      ['/a/*x', '/a/yx', true], ['/a/*x', '/a/y*', false]
    ]
    for (const [outer, inner, covered] of cases) expect([outer, inner, patternCovers(outer, inner)]).toEqual([outer, inner, covered])
  })
})

describe('the files a reload must read for caller keys', () => {
  it('are every caller _KEY_FILE and each file of PROXY_CALLER_KEYS_DIR, and a replaced key file changes the keys', () => {
    const keys = join(dir, 'keys-reload')
    mkdirSync(keys)
    writeFileSync(join(keys, 'wallboard'), KEY_A)
    writeFileSync(join(keys, '.tmp'), 'x')
    const job = file(KEY_B)
    const env = { PROXY_CALLER_JOB_KEY_FILE: job, PROXY_BU_TWO_CALLER_AGENT_KEY_FILE: job, PROXY_API_KEYS_FILE: '/not/a/caller', PROXY_CALLER_KEYS_DIR: keys }
    expect(callerKeyFiles(env)).toEqual([job, job, join(keys, 'wallboard')])
    const data = { callers: { wallboard: {} } }
    expect(callersOf(load(data, { PROXY_CALLER_KEYS_DIR: keys })).byName.get('wallboard')?.fingerprints).toEqual([keyFingerprint(KEY_A)])
    writeFileSync(join(keys, 'wallboard'), `${KEY_A}-rotated\n`)
    expect(callersOf(load(data, { PROXY_CALLER_KEYS_DIR: keys })).byName.get('wallboard')?.fingerprints).toEqual([keyFingerprint(`${KEY_A}-rotated`)])
  })
})

describe('the example of docs/callers.md', () => {
  it('loads, its rules within the profile\'s', () => {
    const doc = readFileSync('docs/callers.md', 'utf8')
    const json = /```json\n([\s\S]*?)```/.exec(doc)?.[1] as string
    const set = callersOf(load(JSON.parse(json), { PROXY_CALLER_EXPORT_JOB_KEY: KEY_B, PROXY_CALLER_AGENT_KEY: 'agent-key-0123456789abcdef' }))
    expect(set.callers.map((c) => [c.name, c.keyOrigin ?? c.socket])).toEqual([['wallboard', '/run/cxone/wallboard.sock'], ['export-job', 'PROXY_CALLER_EXPORT_JOB_KEY'], ['agent', 'PROXY_CALLER_AGENT_KEY']])
    expect(set.notes).toEqual([])
  })
})
