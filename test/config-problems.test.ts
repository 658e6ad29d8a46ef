import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { ConfigError } from '../src/core/errors.js'
import { demoCommand } from '../src/core/secrets.js'
import { runCli } from './helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'cxone-config-problems-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })
const creds = { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret' }

function configError (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('start names every configuration problem at once', () => {
  it('lists each missing or invalid setting in one message, each in its own words, exit 2', async () => {
    const r = await runCli(['start'], { CXONE_ACCESS_KEY_ID: 'kid', PROXY_PORT: 'eighty', CXONE_TOKEN_URL: 'auth/token' })
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toEqual([
      'cxone-auth-proxy: 5 problems in the configuration:',
      '  - CXONE_TOKEN_URL="auth/token" is not a URL: write it like https://cxone.niceincontact.com/auth/token',
      '  - PROXY_PORT="eighty" is not valid: use a whole number from 0 to 65535',
      '  - CXONE_CLIENT_ID is not set: set it, or CXONE_CLIENT_ID_FILE, or run `npm run demo` to try the proxy against the simulator',
      '  - CXONE_CLIENT_SECRET is not set: set it, or CXONE_CLIENT_SECRET_FILE, or run `npm run demo` to try the proxy against the simulator',
      '  - CXONE_ACCESS_KEY_SECRET is not set but its pair is: set both CXONE_ACCESS_KEY_ID and CXONE_ACCESS_KEY_SECRET (or CXONE_ACCESS_KEY_SECRET_FILE), or neither'
    ])
  })

  it('one problem keeps the one-line message', () => {
    expect(configError(() => loadConfig({ env: { CXONE_CLIENT_ID: 'id' }, skipDefaultFile: true })))
      .toBe('CXONE_CLIENT_SECRET is not set: set it, or CXONE_CLIENT_SECRET_FILE, or run `npm run demo` to try the proxy against the simulator')
  })

  it('says a variable is empty rather than not set', () => {
    expect(configError(() => loadConfig({ env: { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: '' }, skipDefaultFile: true })))
      .toBe('CXONE_CLIENT_SECRET is set but empty: set it, or CXONE_CLIENT_SECRET_FILE, or run `npm run demo` to try the proxy against the simulator')
    expect(configError(() => loadConfig({ env: { ...creds, CXONE_ACCESS_KEY_ID: 'kid', CXONE_ACCESS_KEY_SECRET: ' ' }, skipDefaultFile: true })))
      .toBe('CXONE_ACCESS_KEY_SECRET is set but empty but its pair is: set both CXONE_ACCESS_KEY_ID and CXONE_ACCESS_KEY_SECRET (or CXONE_ACCESS_KEY_SECRET_FILE), or neither')
  })

  it('checks the file\'s value even when the environment overrides it', () => {
    const path = join(dir, 'port.json')
    writeFileSync(path, JSON.stringify({ port: 'eighty', unknownKey: 1 }))
    const msg = configError(() => loadConfig({ env: { ...creds, PROXY_PORT: '9100' }, configPath: path }))
    expect(msg.split('\n')).toEqual([
      '2 problems in the configuration:',
      `  - config file ${path}: unknown setting "unknownKey": known settings are ${Object.keys(loadConfig({ env: creds, skipDefaultFile: true }).settings).join(', ')}`,
      `  - ${path}: "port" must be a number`
    ])
  })

  it.each([
    ['CXONE_ISSUER', 'https://cxone.niceincontact.com'],
    ['CXONE_TOKEN_URL', 'https://cxone.niceincontact.com/auth/token'],
    ['CXONE_API_URL', 'https://api-na1.niceincontact.com'],
    ['PROXY_PUBLIC_URL', 'http://127.0.0.1:8080']
  ])('the "not a URL" hint for %s shows a value of its own kind', (name, example) => {
    expect(configError(() => loadConfig({ env: { ...creds, [name]: 'nope' }, skipDefaultFile: true })))
      .toBe(`${name}="nope" is not a URL: write it like ${example}`)
  })
})

describe('the missing-secret message\'s demo command', () => {
  it('is `npm run demo` in a clone and `cxone-auth-proxy demo` in an installed copy (issue 25)', () => {
    expect(demoCommand()).toBe('`npm run demo`')
    expect(demoCommand('file:///usr/lib/node_modules/cxone-auth-proxy/dist/core/secrets.js')).toBe('`cxone-auth-proxy demo`')
    expect(demoCommand('file:///home/me/.local/lib/node_modules/cxone-auth-proxy/dist/core/secrets.js')).toBe('`cxone-auth-proxy demo`')
  })
})
