import { afterEach, describe, expect, it } from 'vitest'
import { CxoneSimulator, DEMO_CREDENTIALS, type SimulatorOptions } from '../src/simulator/simulator.js'
import { expectNoSecrets, runCheckAgainst } from './helpers/check.js'

const SPECIAL_SECRET = 'a+b/c=d%e f'

describe('check --probe finds the client authentication the server accepts', () => {
  let sim: CxoneSimulator | undefined
  afterEach(async () => { await sim?.stop(); sim = undefined })
  const start = async (opts: SimulatorOptions): Promise<CxoneSimulator> => {
    sim = await new CxoneSimulator(opts).start()
    return sim
  }

  it('an app registered for client_secret_post while the config says basic: use CXONE_CLIENT_AUTH=client_secret_post', async () => {
    const s = await start({ clientAuth: 'client_secret_post' })
    const run = await runCheckAgainst(s, { probe: true })
    expect(run.code).toBe(1)
    expect(s.tokenRequests).toBe(2)
    expect(run.text).toMatch(/client_secret_post +200 token issued +→ accepted/)
    expect(run.text).toContain('1. [client_auth_method_mismatch] the app is registered for client_secret_post, not client_secret_basic: the probe\'s client_secret_post request was accepted')
    expect(run.text.split('\n').at(-1)).toBe('use: CXONE_CLIENT_AUTH=client_secret_post')
    expectNoSecrets(run)
  })

  it('a secret with special characters and a server that decodes Basic raw: warns, then recommends CXONE_BASIC_ENCODING=raw', async () => {
    const s = await start({ basicDecoding: 'raw', credentials: { ...DEMO_CREDENTIALS, clientSecret: SPECIAL_SECRET } })
    const run = await runCheckAgainst(s, { env: { CXONE_CLIENT_SECRET: SPECIAL_SECRET }, probe: true })
    expect(run.code).toBe(1)
    expect(run.text).toMatch(/^\[warn\] the client secret contains characters that RFC 6749 form-encodes before base64/m)
    expect(run.text).toMatch(/authorization: +Basic base64\("067ed166…:<secret, 11 chars, sha256 [0-9a-f]{4}…, form-encoded to 19 chars>"\)$/m)
    // rfc6749 (configured, rejected), raw (accepted); post is not needed.
    expect(s.tokenRequests).toBe(2)
    expect(run.text).toMatch(/client_secret_basic \(raw\) +200 token issued +→ accepted/)
    expect(run.text).toMatch(/client_secret_post +not sent: an accepted variant is already known/)
    expect(run.text.split('\n').at(-1)).toBe('use: CXONE_CLIENT_AUTH=client_secret_basic CXONE_BASIC_ENCODING=raw')
    expectNoSecrets(run)
  })

  it('without --probe, the same mismatch puts the encoding first among the causes', async () => {
    const s = await start({ basicDecoding: 'raw', credentials: { ...DEMO_CREDENTIALS, clientSecret: SPECIAL_SECRET } })
    const run = await runCheckAgainst(s, { env: { CXONE_CLIENT_SECRET: SPECIAL_SECRET } })
    expect(s.tokenRequests).toBe(1)
    expect(run.text).toMatch(/^ {2}1\. \[basic_encoding_mismatch\] the server decodes the Basic header differently/m)
    expect(run.text).toContain('fix: run `cxone-auth-proxy check --probe`, or set CXONE_BASIC_ENCODING=raw')
    expect(run.text).not.toMatch(/^use:/m)
  })

  it('config says post, server wants Basic raw: use names both settings', async () => {
    const s = await start({ basicDecoding: 'raw', credentials: { ...DEMO_CREDENTIALS, clientSecret: SPECIAL_SECRET } })
    const run = await runCheckAgainst(s, { env: { CXONE_CLIENT_SECRET: SPECIAL_SECRET, CXONE_CLIENT_AUTH: 'client_secret_post' }, probe: true })
    expect(s.tokenRequests).toBe(3)
    expect(run.text).toMatch(/client_secret_basic \(rfc6749\) +401 invalid_client \(Bad client credentials\) +→ rejected/)
    expect(run.text.split('\n').at(-1)).toBe('use: CXONE_CLIENT_AUTH=client_secret_basic CXONE_BASIC_ENCODING=raw')
    expectNoSecrets(run)
  })

  it('a working configuration: the probe sends nothing more and confirms the settings', async () => {
    const s = await start({})
    const run = await runCheckAgainst(s, { probe: true })
    expect(run.code).toBe(0)
    expect(s.tokenRequests).toBe(1)
    expect(run.text.split('\n').at(-1)).toBe('use: CXONE_CLIENT_AUTH=client_secret_basic CXONE_BASIC_ENCODING=rfc6749 (as configured)')
  })
})
