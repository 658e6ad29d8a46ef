import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { findProfile, loadConfig, type Config, type Profile } from '../src/core/config.js'
import { runCli } from './helpers/cli.js'
import { problems } from './helpers/config-problems.js'

/** Issue 12: named profiles in proxy.config.json, each a business unit with its own secrets, port and endpoints. */

const dir = mkdtempSync(join(tmpdir(), 'cxone-profiles-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })
let files = 0
function configFile (data: unknown): string {
  const path = join(dir, `config-${++files}.json`)
  writeFileSync(path, typeof data === 'string' ? data : JSON.stringify(data))
  return path
}
function textFile (text: string): string {
  const path = join(dir, `secret-${++files}`)
  writeFileSync(path, text)
  return path
}

const creds = { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret' }
const buTwo = { CXONE_BU_TWO_CLIENT_ID: 'id-2', CXONE_BU_TWO_CLIENT_SECRET: 'secret-2' }

function load (data: unknown, env: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({ env: { ...creds, ...buTwo, ...env }, configPath: configFile(data) })
}
function profile (config: Config, name: string): Profile {
  const p = findProfile(config, name)
  if (p === undefined) throw new Error(`no profile ${name}`)
  return p
}

describe('a configuration without profiles', () => {
  it('is the default profile alone, the very objects of config.settings, credentials and sources', () => {
    const c = loadConfig({ env: creds, configPath: 'proxy.config.json' })
    expect(c.profiles.map((p) => p.name)).toEqual(['default'])
    const [main] = c.profiles
    expect(main?.settings).toBe(c.settings)
    expect(main?.credentials).toBe(c.credentials)
    expect(main?.sources).toBe(c.sources)
    expect(main?.secretVars.clientId).toBe('CXONE_CLIENT_ID')
    expect(Object.isFrozen(c.profiles)).toBe(true)
  })

  it('has the settings it had before profiles existed', () => {
    const c = loadConfig({ env: { ...creds, PROXY_READ_ONLY: 'true' }, skipDefaultFile: true })
    expect(c.settings).toEqual({
      issuer: 'https://cxone.niceincontact.com', tokenUrl: undefined, apiUrl: undefined, uiUrl: undefined, digitalUrl: undefined, upstreams: [], grantType: 'client_credentials',
      clientAuth: 'client_secret_basic', basicEncoding: 'rfc6749', scope: undefined, refreshAhead: 0.8, tokenTimeoutMs: 10_000,
      configErrorRetrySec: 300, host: '127.0.0.1', port: 8080, socket: undefined, socketMode: '0600', publicUrl: undefined, adminHost: '0.0.0.0', adminPort: undefined,
      allowedHosts: [], corsOrigins: [], allowUnauthenticated: false, readOnly: true, localAuth: false, routes: [], maxBodyBytes: 10_485_760,
      maxHeaderBytes: 16_384, maxHeaderCount: 100, bodyTimeoutMs: 30_000, maxBufferedBytes: 134_217_728, headersTimeoutMs: 10_000,
      upstreamTimeoutMs: 120_000, connectTimeoutMs: 10_000, keepAliveTimeoutMs: 75_000, upstreamConnections: 512,
      maxConcurrentUpstream: 512, queueTimeoutMs: 2_000, redisCommandTimeoutMs: 50, shutdownGraceMs: 30_000, logLevel: 'info',
      // Settings of later issues, at their defaults: issue 13's pacing of Data Extraction job creation.
      pace: [{ route: 'POST /data-extraction/*/jobs/**', method: 'POST', pattern: '/data-extraction/*/jobs/**', maxConcurrent: 1, minIntervalMs: 30_000 }],
      paceMaxWaitMs: 60_000,
      // Issue 13's coalescing (on) and micro-cache (off).
      coalesce: true,
      cache: [],
      cacheMaxBytes: 67_108_864,
      // Issue 22's named callers: no keys folder, and their policies enforced.
      callerKeysDir: undefined,
      callersEnforce: true
    })
    expect(c.sources.readOnly).toBe('env')
    expect(c.sources.grantType).toBe('derived')
    expect(c.profiles).toHaveLength(1)
  })

  it('ignores profile variables nobody configured', () => {
    expect(loadConfig({ env: { ...creds, ...buTwo }, skipDefaultFile: true }).profiles).toHaveLength(1)
  })
})

describe('a profile', () => {
  it('inherits the top level\'s values but never its tenant endpoints, even when the environment sets them', () => {
    const c = load({
      readOnly: true,
      issuer: 'https://cxone-gov.niceincontact.com',
      tokenUrl: 'https://cxone-gov.niceincontact.com/auth/token',
      apiUrl: 'https://api-na1.niceincontact.com',
      publicUrl: 'http://proxy.example:8080',
      routes: ['GET /inContactAPI/**'],
      profiles: { 'bu-two': { port: 8081 } }
    }, { CXONE_API_URL: 'https://api-b32.nice-incontact.com', CXONE_TOKEN_URL: 'https://cxone.niceincontact.com/auth/token' })
    const p = profile(c, 'bu-two')
    expect(c.profiles.map((x) => x.name)).toEqual(['default', 'bu-two'])
    expect(c.settings.apiUrl).toBe('https://api-b32.nice-incontact.com')
    expect(p.settings.readOnly).toBe(true)
    expect(p.sources.readOnly).toBe('inherited')
    expect(p.settings.issuer).toBe('https://cxone-gov.niceincontact.com')
    expect(p.settings.routes).toEqual([{ method: 'GET', pattern: '/inContactAPI/**' }])
    expect(p.settings.apiUrl).toBeUndefined()
    expect(p.settings.tokenUrl).toBeUndefined()
    expect(p.settings.publicUrl).toBeUndefined()
    expect([p.sources.apiUrl, p.sources.tokenUrl, p.sources.publicUrl]).toEqual(['default', 'default', 'default'])
    expect(p.settings.port).toBe(8081)
    expect(p.sources.port).toBe('file')
  })

  it('takes its tenant endpoints from its own settings', () => {
    const c = load({ apiUrl: 'https://api-na1.niceincontact.com', profiles: { 'bu-two': { port: 8081, apiUrl: 'https://api-b32.nice-incontact.com/', tokenUrl: 'https://cxone.niceincontact.com/auth/token' } } })
    const p = profile(c, 'bu-two')
    expect(p.settings.apiUrl).toBe('https://api-b32.nice-incontact.com')
    expect(p.settings.tokenUrl).toBe('https://cxone.niceincontact.com/auth/token')
    expect(p.sources.apiUrl).toBe('file')
  })

  it('is not touched by the environment\'s overrides of non-secret settings, which are the default\'s', () => {
    const c = load({ profiles: { 'bu-two': { port: 8081 } } }, { PROXY_READ_ONLY: 'true', CXONE_TOKEN_TIMEOUT_MS: '500', CXONE_SCOPE: 'RealTimeApi', PROXY_PORT: '9000' })
    const p = profile(c, 'bu-two')
    expect([c.settings.readOnly, c.settings.tokenTimeoutMs, c.settings.scope, c.settings.port]).toEqual([true, 500, 'RealTimeApi', 9000])
    expect([p.settings.readOnly, p.settings.tokenTimeoutMs, p.settings.scope, p.settings.port]).toEqual([false, 10_000, undefined, 8081])
    expect(p.sources.readOnly).toBe('default')
  })

  it('shares the process-wide settings, from the environment too', () => {
    const c = load({ logLevel: 'warn', profiles: { 'bu-two': { port: 8081 } } }, { PROXY_HOST: '::1', PROXY_UPSTREAM_CONNECTIONS: '64' })
    const p = profile(c, 'bu-two')
    expect([p.settings.host, p.settings.upstreamConnections, p.settings.logLevel]).toEqual(['::1', 64, 'warn'])
    expect([p.sources.host, p.sources.logLevel]).toEqual(['env', 'file'])
  })

  it('overrides what it sets', () => {
    const c = load({ readOnly: true, profiles: { 'bu-two': { port: 8081, readOnly: false, corsOrigins: ['https://app.example'], grantType: 'client_credentials' } } })
    const p = profile(c, 'bu-two')
    expect([p.settings.readOnly, p.settings.corsOrigins, p.settings.grantType]).toEqual([false, ['https://app.example'], 'client_credentials'])
  })
})

describe('a profile\'s secrets', () => {
  it('come from CXONE_<NAME>_* and PROXY_<NAME>_API_KEYS, never from the default\'s variables', () => {
    const c = load({ profiles: { 'bu-two': { port: 8081 } } }, {
      CXONE_BU_TWO_ACCESS_KEY_ID: 'kid-2',
      CXONE_BU_TWO_ACCESS_KEY_SECRET: 'ksecret-2=',
      PROXY_BU_TWO_API_KEYS: 'k1, k2',
      PROXY_API_KEYS: 'default-key'
    })
    const p = profile(c, 'bu-two')
    expect([p.credentials.clientId, p.credentials.clientSecret, p.credentials.accessKeyId, p.credentials.accessKeySecret]).toEqual(['id-2', 'secret-2', 'kid-2', 'ksecret-2='])
    expect(p.credentials.apiKeys).toEqual(['k1', 'k2'])
    expect(c.credentials.apiKeys).toEqual(['default-key'])
    expect(p.settings.grantType).toBe('password')
    expect(p.sources.grantType).toBe('derived')
    expect(c.settings.grantType).toBe('client_credentials')
    expect(p.secretVars).toEqual({ clientId: 'CXONE_BU_TWO_CLIENT_ID', clientSecret: 'CXONE_BU_TWO_CLIENT_SECRET', accessKeyId: 'CXONE_BU_TWO_ACCESS_KEY_ID', accessKeySecret: 'CXONE_BU_TWO_ACCESS_KEY_SECRET', apiKeys: 'PROXY_BU_TWO_API_KEYS' })
    expect(JSON.stringify(p)).not.toContain('secret-2')
  })

  it('read the _FILE forms', () => {
    const c = loadConfig({
      env: { ...creds, CXONE_BU_TWO_CLIENT_ID: 'id-2', CXONE_BU_TWO_CLIENT_SECRET_FILE: textFile('from-file\n'), PROXY_BU_TWO_API_KEYS_FILE: textFile('key-one\n\nkey-two\n') },
      configPath: configFile({ profiles: { 'bu-two': { port: 8081 } } })
    })
    const p = profile(c, 'bu-two')
    expect(p.credentials.clientSecret).toBe('from-file')
    expect(p.credentials.origins).toEqual({ clientId: 'env', clientSecret: 'file', accessKeyId: 'unset', accessKeySecret: 'unset', apiKeys: 'file' })
    expect(p.credentials.apiKeys).toEqual(['key-one', 'key-two'])
  })

  it('refuse a variable set both ways, and name each missing one exactly', () => {
    const path = configFile({ profiles: { 'bu-two': { port: 8081 }, emea: { port: 8082 } } })
    expect(problems(() => loadConfig({ env: { ...creds, ...buTwo, CXONE_BU_TWO_CLIENT_SECRET_FILE: '/x', CXONE_EMEA_ACCESS_KEY_ID: 'kid' }, configPath: path }))).toEqual([
      { code: 'config_conflicting_secret', message: 'profile "bu-two": both CXONE_BU_TWO_CLIENT_SECRET and CXONE_BU_TWO_CLIENT_SECRET_FILE are set: keep one of them' },
      { code: 'config_missing_secret', message: 'profile "emea": CXONE_EMEA_CLIENT_ID is not set: set it, or CXONE_EMEA_CLIENT_ID_FILE' },
      { code: 'config_missing_secret', message: 'profile "emea": CXONE_EMEA_CLIENT_SECRET is not set: set it, or CXONE_EMEA_CLIENT_SECRET_FILE' },
      { code: 'config_missing_secret', message: 'profile "emea": CXONE_EMEA_ACCESS_KEY_SECRET is not set but its pair is: set both CXONE_EMEA_ACCESS_KEY_ID and CXONE_EMEA_ACCESS_KEY_SECRET (or CXONE_EMEA_ACCESS_KEY_SECRET_FILE), or neither' }
    ])
  })

  it('may be missing for check, which reports them instead', () => {
    const c = loadConfig({ env: creds, configPath: configFile({ profiles: { emea: { port: 8082 } } }), allowMissingCredentials: true })
    expect(profile(c, 'emea').credentials.origins.clientId).toBe('unset')
  })
})

describe('a mistake in a profile names the profile and the field', () => {
  const P = (path: string): string => `config file ${path}: profile`
  it.each<[string, (path: string) => unknown, NodeJS.ProcessEnv, (path: string) => Array<{ code: string, message: string }>]>([
    ['profiles not an object', () => ({ profiles: ['bu-two'] }), {}, (f) => [
      { code: 'config_file_invalid', message: `config file ${f}: "profiles" must be an object of named profiles, like {"bu-two": {"port": 8081}}` }]],
    ['a profile not an object', () => ({ profiles: { 'bu-two': 8081 } }), {}, (f) => [
      { code: 'config_file_invalid', message: `${P(f)} "bu-two" must be an object of settings, like {"port": 8081}` }]],
    ['a bad name', () => ({ profiles: { BU_Two: { port: 8081 }, ['x'.repeat(33)]: { port: 8082 } } }), {}, (f) => [
      { code: 'config_invalid_value', message: `config file ${f}: profile name "BU_Two" is not valid: use 1 to 32 lowercase letters, digits and -, like "bu-two"` },
      { code: 'config_invalid_value', message: `config file ${f}: profile name "${'x'.repeat(33)}" is not valid: use 1 to 32 lowercase letters, digits and -, like "bu-two"` }]],
    ['the default profile\'s name', () => ({ profiles: { default: { port: 8081 } } }), {}, (f) => [
      { code: 'config_invalid_value', message: `config file ${f}: profile name "default" is the top-level settings' name: choose another name for this profile` }]],
    ['an unknown key, a secret, a process-wide setting', () => ({ profiles: { 'bu-two': { port: 8081, prot: 1, constructor: 1, clientSecret: 'x', host: '0.0.0.0', routes: [] } } }), {}, (f) => [
      { code: 'config_unknown_setting', message: `${P(f)} "bu-two": unknown setting "prot": a profile may set issuer, tokenUrl, apiUrl, uiUrl, digitalUrl, upstreams, grantType, clientAuth, basicEncoding, scope, refreshAhead, tokenTimeoutMs, configErrorRetrySec, port, socket, socketMode, publicUrl, allowedHosts, corsOrigins, allowUnauthenticated, readOnly, localAuth, routes, pace, coalesce, cache, maxBodyBytes, upstreamTimeoutMs` },
      { code: 'config_unknown_setting', message: `${P(f)} "bu-two": unknown setting "constructor": a profile may set issuer, tokenUrl, apiUrl, uiUrl, digitalUrl, upstreams, grantType, clientAuth, basicEncoding, scope, refreshAhead, tokenTimeoutMs, configErrorRetrySec, port, socket, socketMode, publicUrl, allowedHosts, corsOrigins, allowUnauthenticated, readOnly, localAuth, routes, pace, coalesce, cache, maxBodyBytes, upstreamTimeoutMs` },
      { code: 'config_unknown_setting', message: `${P(f)} "bu-two": "clientSecret" is a secret and is not read from files: set CXONE_BU_TWO_CLIENT_SECRET or CXONE_BU_TWO_CLIENT_SECRET_FILE in the environment instead, and remove it from the file` },
      { code: 'config_unknown_setting', message: `${P(f)} "bu-two": "host" is process-wide: set it at the top level of the file (or PROXY_HOST), where it applies to every profile` }]],
    ['an invalid value', () => ({ profiles: { 'bu-two': { port: 'eighty', readOnly: 'yes', clientAuth: 'basic' } } }), {}, (f) => [
      { code: 'config_invalid_value', message: `${P(f)} "bu-two": "clientAuth"="basic" is not valid: use one of client_secret_basic, client_secret_post` },
      { code: 'config_invalid_value', message: `${P(f)} "bu-two": "port" must be a number` },
      { code: 'config_invalid_value', message: `${P(f)} "bu-two": "readOnly" must be true or false` }]],
    ['a missing port', () => ({ profiles: { 'bu-two': { readOnly: true } } }), {}, (f) => [
      { code: 'config_invalid_value', message: `${P(f)} "bu-two": "port" is missing: each profile listens on a port of its own, like "port": 8081` }]],
    ['two profiles on one port, one on the default\'s, one on the admin listener\'s', () => ({ adminPort: 9090, profiles: { 'bu-two': { port: 8081 }, emea: { port: 8081 }, apac: { port: 9000 }, latam: { port: 9090 } } }),
      { PROXY_PORT: '9000', CXONE_EMEA_CLIENT_ID: 'e', CXONE_EMEA_CLIENT_SECRET: 'e', CXONE_APAC_CLIENT_ID: 'a', CXONE_APAC_CLIENT_SECRET: 'a', CXONE_LATAM_CLIENT_ID: 'l', CXONE_LATAM_CLIENT_SECRET: 'l' }, (f) => [
        { code: 'config_port_conflict', message: `${P(f)} "emea": "port" 8081 is also profile "bu-two"'s: give each profile a port of its own` },
        { code: 'config_port_conflict', message: `${P(f)} "apac": "port" 9000 is the default profile's port (PROXY_PORT): give each profile a port of its own` },
        { code: 'config_port_conflict', message: `${P(f)} "latam": "port" 9090 is the admin listener's (PROXY_ADMIN_PORT): give each profile a port of its own` }]],
    ['plain http off loopback, its own or inherited', () => ({ issuer: 'http://cxone.example.com', profiles: { 'bu-two': { port: 8081, tokenUrl: 'http://auth.example.com/auth/token', apiUrl: 'http://127.0.0.1:9999' } } }),
      { CXONE_ISSUER: 'https://cxone.niceincontact.com' }, (f) => [
        { code: 'config_unsafe', message: `${P(f)} "bu-two": "issuer"=http://cxone.example.com (inherited from the top level) uses plain http off loopback: the token would travel unencrypted; use https://` },
        { code: 'config_unsafe', message: `${P(f)} "bu-two": "tokenUrl"=http://auth.example.com/auth/token uses plain http off loopback: the token would travel unencrypted; use https://` }]],
    ['a non-loopback host without the profile\'s inbound keys', () => ({ host: '0.0.0.0', profiles: { 'bu-two': { port: 8081 } } }), { PROXY_API_KEYS: 'k' }, (f) => [
      { code: 'config_unsafe', message: `${P(f)} "bu-two": PROXY_HOST=0.0.0.0 is not a loopback address and no PROXY_BU_TWO_API_KEYS are set: anything that can reach 0.0.0.0:8081 would get this business unit's bearer. Set PROXY_BU_TWO_API_KEYS (or PROXY_BU_TWO_API_KEYS_FILE), or accept the risk with "allowUnauthenticated": true in the profile` }]],
    ['the password grant without the profile\'s access key', () => ({ profiles: { 'bu-two': { port: 8081, grantType: 'password' } } }), {}, (f) => [
      { code: 'config_missing_secret', message: `${P(f)} "bu-two": "grantType" password needs an access key: set CXONE_BU_TWO_ACCESS_KEY_ID and CXONE_BU_TWO_ACCESS_KEY_SECRET (or their _FILE forms), or set "grantType": "client_credentials"` }]],
    ['a body limit above the process-wide buffer', () => ({ maxBufferedBytes: 1000, maxBodyBytes: 1000, profiles: { 'bu-two': { port: 8081, maxBodyBytes: 2000 } } }), {}, (f) => [
      { code: 'config_invalid_value', message: `${P(f)} "bu-two": "maxBodyBytes" 2000 is more than PROXY_MAX_BUFFERED_BYTES=1000: a body at the limit could never be held; lower it, or raise PROXY_MAX_BUFFERED_BYTES` }]]
  ])('%s', (_name, data, env, expected) => {
    const path = configFile(data(''))
    expect(problems(() => loadConfig({ env: { ...creds, ...buTwo, ...env }, configPath: path }))).toEqual(expected(path))
  })

  it('the same keys, from the environment, are fine where the default needs them', () => {
    const c = load({ host: '0.0.0.0', profiles: { 'bu-two': { port: 8081, allowUnauthenticated: true }, emea: { port: 8082 } } }, { PROXY_API_KEYS: 'k', PROXY_EMEA_API_KEYS: 'e', CXONE_EMEA_CLIENT_ID: 'e', CXONE_EMEA_CLIENT_SECRET: 'e' })
    expect(c.profiles.map((p) => [p.name, p.settings.port, p.credentials.apiKeys.length])).toEqual([['default', 8080, 1], ['bu-two', 8081, 0], ['emea', 8082, 1]])
  })

  it('port 0 (any free port) is no conflict, as for PROXY_PORT=0 in tests', () => {
    const c = load({ profiles: { 'bu-two': { port: 0 }, emea: { port: 0 } } }, { PROXY_PORT: '0', CXONE_EMEA_CLIENT_ID: 'e', CXONE_EMEA_CLIENT_SECRET: 'e' })
    expect(c.profiles.map((p) => p.settings.port)).toEqual([0, 0, 0])
  })

  it('start refuses it in one message with the default\'s problems, exit 2', async () => {
    const path = configFile({ profiles: { 'bu-two': { port: 8080, readOnly: 1 } } })
    const r = await runCli(['start', '--config', path], { CXONE_CLIENT_ID: 'id' })
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toEqual([
      'cxone-auth-proxy: 5 problems in the configuration:',
      '  - CXONE_CLIENT_SECRET is not set: set it, or CXONE_CLIENT_SECRET_FILE, or run `npm run demo` to try the proxy against the simulator',
      `  - config file ${path}: profile "bu-two": "readOnly" must be true or false`,
      '  - profile "bu-two": CXONE_BU_TWO_CLIENT_ID is not set: set it, or CXONE_BU_TWO_CLIENT_ID_FILE',
      '  - profile "bu-two": CXONE_BU_TWO_CLIENT_SECRET is not set: set it, or CXONE_BU_TWO_CLIENT_SECRET_FILE',
      `  - config file ${path}: profile "bu-two": "port" 8080 is the default profile's port (PROXY_PORT): give each profile a port of its own`
    ])
  })
})
