import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { ConfigError } from '../src/core/errors.js'

const creds = { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret' }
const dir = mkdtempSync(join(tmpdir(), 'cxone-config-'))
function file (name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

function configError (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('configuration', () => {
  it('names a missing secret and how to provide it', () => {
    const msg = configError(() => loadConfig({ env: { CXONE_CLIENT_ID: 'id' }, skipDefaultFile: true }))
    expect(msg).toBe('CXONE_CLIENT_SECRET is not set: set it, or CXONE_CLIENT_SECRET_FILE, or run `npm run demo` to try the proxy against the simulator')
  })

  it('reads NAME_FILE, trimming one trailing newline, and records where it came from', () => {
    const path = file('secret', 'from-file\n')
    const c = loadConfig({ env: { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET_FILE: path }, skipDefaultFile: true })
    expect(c.credentials.clientSecret).toBe('from-file')
    expect(c.credentials.origins.clientSecret).toBe('file')
    expect(c.credentials.origins.clientId).toBe('env')
    const twoLines = file('secret2', 'value\n\n')
    expect(loadConfig({ env: { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET_FILE: twoLines }, skipDefaultFile: true }).credentials.clientSecret).toBe('value\n')
  })

  it('refuses both NAME and NAME_FILE, naming both', () => {
    const msg = configError(() => loadConfig({ env: { ...creds, CXONE_CLIENT_SECRET_FILE: '/x' }, skipDefaultFile: true }))
    expect(msg).toContain('CXONE_CLIENT_SECRET and CXONE_CLIENT_SECRET_FILE')
  })

  it('names an unreadable NAME_FILE path', () => {
    const msg = configError(() => loadConfig({ env: { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET_FILE: join(dir, 'missing') }, skipDefaultFile: true }))
    expect(msg).toMatch(/CXONE_CLIENT_SECRET_FILE=.*missing cannot be read \(ENOENT\)/)
  })

  it('keeps secrets off enumerable properties', () => {
    const c = loadConfig({ env: { ...creds, CXONE_ACCESS_KEY_ID: 'kid', CXONE_ACCESS_KEY_SECRET: 'ksecret=' }, skipDefaultFile: true })
    const dump = JSON.stringify(c)
    for (const s of ['secret', 'ksecret=', 'kid']) expect(dump).not.toContain(`"${s}"`)
    expect(c.credentials.accessKeySecret).toBe('ksecret=')
  })

  it('reports a malformed config file with its path, line and column', () => {
    const path = file('bad.json', '{\n  "port": 8080,\n  "host": "127.0.0.1",,\n}\n')
    const msg = configError(() => loadConfig({ env: creds, configPath: path }))
    expect(msg).toContain(path)
    expect(msg).toContain('line 3')
  })

  it('names an unknown key and refuses secrets in the file', () => {
    expect(configError(() => loadConfig({ env: creds, configPath: file('typo.json', '{"prot": 1}') }))).toContain('unknown setting "prot"')
    expect(configError(() => loadConfig({ env: creds, configPath: file('secret.json', '{"clientSecret": "x"}') }))).toContain('set CXONE_CLIENT_SECRET or CXONE_CLIENT_SECRET_FILE')
  })

  it('requires an explicitly named config file to exist', () => {
    expect(configError(() => loadConfig({ env: { ...creds, PROXY_CONFIG: join(dir, 'nope.json') } }))).toContain('PROXY_CONFIG')
  })

  it('lets the environment override the file and records each source', () => {
    const path = file('ok.json', JSON.stringify({ port: 9000, logLevel: 'debug', clientAuth: 'client_secret_post' }))
    const c = loadConfig({ env: { ...creds, PROXY_PORT: '9100' }, configPath: path })
    expect(c.settings.port).toBe(9100)
    expect(c.sources.port).toBe('env')
    expect(c.settings.logLevel).toBe('debug')
    expect(c.sources.logLevel).toBe('file')
    expect(c.sources.basicEncoding).toBe('default')
    expect(Object.isFrozen(c.settings)).toBe(true)
  })

  it.each([
    [{ CXONE_CLIENT_AUTH: 'basic' }, 'CXONE_CLIENT_AUTH="basic" is not valid: use one of client_secret_basic, client_secret_post'],
    [{ PROXY_PORT: 'eighty' }, 'PROXY_PORT="eighty" is not valid: use a whole number from 0 to 65535'],
    [{ CXONE_ISSUER: 'not a url' }, 'CXONE_ISSUER="not a url" is not a URL'],
    [{ CXONE_REFRESH_AHEAD: '1.5' }, 'CXONE_REFRESH_AHEAD="1.5" is not valid: use a number from 0.1 to 0.95'],
    [{ CXONE_TOKEN_URL: 'http://auth.example.com/auth/token' }, 'uses plain http off loopback'],
    [{ CXONE_GRANT_TYPE: 'password' }, 'CXONE_GRANT_TYPE=password needs an access key'],
    [{ CXONE_ACCESS_KEY_ID: 'only-id' }, 'CXONE_ACCESS_KEY_SECRET is not set but its pair is'],
    [{ PROXY_HOST: '0.0.0.0' }, 'PROXY_API_KEYS']
  ])('refuses %o with a message naming the fix', (env, message) => {
    expect(configError(() => loadConfig({ env: { ...creds, ...env }, skipDefaultFile: true }))).toContain(message)
  })

  it('allows a non-loopback bind with inbound keys or an explicit opt-out', () => {
    expect(loadConfig({ env: { ...creds, PROXY_HOST: '0.0.0.0', PROXY_API_KEYS: 'k1,k2' }, skipDefaultFile: true }).credentials.apiKeys).toEqual(['k1', 'k2'])
    expect(loadConfig({ env: { ...creds, PROXY_HOST: '0.0.0.0', PROXY_ALLOW_UNAUTHENTICATED: 'true' }, skipDefaultFile: true }).settings.allowUnauthenticated).toBe(true)
  })

  it('reads PROXY_API_KEYS_FILE one key per line, ignoring blank lines', () => {
    const path = file('keys', 'key-one\n\n  key-two  \n')
    expect(loadConfig({ env: { ...creds, PROXY_API_KEYS_FILE: path }, skipDefaultFile: true }).credentials.apiKeys).toEqual(['key-one', 'key-two'])
  })

  it('the committed proxy.config.json loads', () => {
    const c = loadConfig({ env: creds, configPath: 'proxy.config.json' })
    expect(c.settings.host).toBe('127.0.0.1')
    expect(c.settings.port).toBe(8080)
  })
})
