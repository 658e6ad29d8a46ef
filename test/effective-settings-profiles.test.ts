import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { effectiveProfiles, effectiveSettings } from '../src/runtime/effective-settings.js'

/** The start-up line and status page list each profile with its port and settings, secrets by origin only (issue 12). */

const dir = mkdtempSync(join(tmpdir(), 'effective-profiles-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

describe('effective settings per profile', () => {
  const keysFile = join(dir, 'keys')
  writeFileSync(keysFile, 'key-one\nkey-two\n')
  const configPath = join(dir, 'proxy.config.json')
  writeFileSync(configPath, JSON.stringify({ readOnly: true, apiUrl: 'https://api-na1.niceincontact.com', profiles: { 'bu-two': { port: 8081, scope: 'RealTimeApi' } } }))
  const env = {
    CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'top-secret-1',
    CXONE_BU_TWO_CLIENT_ID: 'id-2', CXONE_BU_TWO_CLIENT_SECRET: 'top-secret-2', PROXY_BU_TWO_API_KEYS_FILE: keysFile,
    LOG_LEVEL: 'warn'
  }
  const config = loadConfig({ env, configPath })

  it('lists every profile, the default first, with its port and its own settings', () => {
    const [main, two] = effectiveProfiles(config)
    expect(main).toEqual({ name: 'default', port: 8080, settings: { ...effectiveSettings(config), configFile: undefined } })
    expect(two).toEqual({
      name: 'bu-two',
      port: 8081,
      settings: {
        port: { value: 8081, from: 'file' },
        issuer: { value: 'https://cxone.niceincontact.com', from: 'default' },
        grantType: { value: 'client_credentials', from: 'derived' },
        clientAuth: { value: 'client_secret_basic', from: 'default' },
        basicEncoding: { value: 'rfc6749', from: 'default' },
        scope: { value: 'RealTimeApi', from: 'file' },
        refreshAhead: { value: 0.8, from: 'default' },
        tokenTimeoutMs: { value: 10_000, from: 'default' },
        configErrorRetrySec: { value: 300, from: 'default' },
        allowUnauthenticated: { value: false, from: 'default' },
        readOnly: { value: true, from: 'inherited' },
        localAuth: { value: false, from: 'default' },
        maxBodyBytes: { value: 10_485_760, from: 'default' },
        upstreamTimeoutMs: { value: 120_000, from: 'default' },
        pace: { value: [{ route: 'POST /data-extraction/*/jobs/**', method: 'POST', pattern: '/data-extraction/*/jobs/**', maxConcurrent: 1, minIntervalMs: 30_000 }], from: 'default' },
        coalesce: { value: true, from: 'default' },
        socketMode: { value: '0600', from: 'default' },
        secrets: { CXONE_BU_TWO_CLIENT_ID: 'env', CXONE_BU_TWO_CLIENT_SECRET: 'env', PROXY_BU_TWO_API_KEYS: 'PROXY_BU_TWO_API_KEYS_FILE' },
        inboundKeys: 2
      }
    })
  })

  it('keeps the default\'s line as it was: every setting, its secrets, the config file', () => {
    const line = effectiveSettings(config)
    expect(line.logLevel).toEqual({ value: 'warn', from: 'env' })
    expect(line.apiUrl).toEqual({ value: 'https://api-na1.niceincontact.com', from: 'file' })
    expect(line.secrets).toEqual({ CXONE_CLIENT_ID: 'env', CXONE_CLIENT_SECRET: 'env' })
    expect(line.configFile).toBe(configPath)
    expect(Object.keys(line).slice(-2)).toEqual(['secrets', 'configFile'])
  })

  it('never holds a secret or an inbound key', () => {
    const text = JSON.stringify(effectiveProfiles(config))
    for (const secret of ['top-secret-1', 'top-secret-2', 'key-one', 'key-two']) expect(text).not.toContain(secret)
  })
})
