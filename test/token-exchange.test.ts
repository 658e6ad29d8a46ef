import nock from 'nock'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { ProxyError } from '../src/core/errors.js'
import { Discovery } from '../src/token/discovery.js'
import { createObtain } from '../src/token/obtain.js'
import { CxoneSimulator, DEMO_CREDENTIALS } from '../src/simulator/simulator.js'
import { simulatorEnv } from './helpers/harness.js'

const fetchFn = async (url: string, init: RequestInit): Promise<Response> => await globalThis.fetch(url, init)

function obtainFor (env: NodeJS.ProcessEnv): () => Promise<{ accessToken: string, tenantId: string | undefined }> {
  const { settings, credentials } = loadConfig({ env, skipDefaultFile: true })
  const discovery = new Discovery({ issuer: settings.issuer, tokenUrl: settings.tokenUrl, apiUrl: settings.apiUrl, fetch: fetchFn, timeoutMs: settings.tokenTimeoutMs })
  return createObtain(settings, credentials, discovery, fetchFn, Date.now)
}

describe('token exchange against the strict simulator', () => {
  const sims: CxoneSimulator[] = []
  afterAll(async () => { await Promise.all(sims.map(async (s) => { await s.stop() })) })
  async function sim (opts: ConstructorParameters<typeof CxoneSimulator>[0]): Promise<CxoneSimulator> {
    const s = await new CxoneSimulator(opts).start()
    sims.push(s)
    return s
  }

  it.each([
    ['password', 'client_secret_basic'],
    ['password', 'client_secret_post'],
    ['client_credentials', 'client_secret_basic'],
    ['client_credentials', 'client_secret_post']
  ] as const)('%s grant with %s is accepted', async (grant, clientAuth) => {
    const s = await sim({ clientAuth })
    const env = simulatorEnv(s, { CXONE_GRANT_TYPE: grant, CXONE_CLIENT_AUTH: clientAuth })
    if (grant === 'client_credentials') { delete env.CXONE_ACCESS_KEY_ID; delete env.CXONE_ACCESS_KEY_SECRET }
    const token = await obtainFor(env)()
    expect(token.tenantId).toBe(s.options.tenantId)
    expect(s.issuedTokens()).toContain(token.accessToken)
  })

  it('defaults to the password grant when an access key is configured, client_credentials otherwise', () => {
    const base = { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret' }
    expect(loadConfig({ env: { ...base, CXONE_ACCESS_KEY_ID: 'k', CXONE_ACCESS_KEY_SECRET: 's=' }, skipDefaultFile: true }).settings.grantType).toBe('password')
    expect(loadConfig({ env: base, skipDefaultFile: true }).settings.grantType).toBe('client_credentials')
  })

  it('a secret with reserved characters works with the server that form-decodes (rfc6749) and the one that does not (raw)', async () => {
    const credentials = { ...DEMO_CREDENTIALS, clientSecret: 'a+b/c=d%e f:g' }
    const decoding = await sim({ credentials, basicDecoding: 'rfc6749' })
    const plain = await sim({ credentials, basicDecoding: 'raw' })
    await expect(obtainFor(simulatorEnv(decoding, { CXONE_CLIENT_SECRET: credentials.clientSecret }))()).resolves.toBeTruthy()
    await expect(obtainFor(simulatorEnv(plain, { CXONE_CLIENT_SECRET: credentials.clientSecret, CXONE_BASIC_ENCODING: 'raw' }))()).resolves.toBeTruthy()
    const mismatch = obtainFor(simulatorEnv(plain, { CXONE_CLIENT_SECRET: credentials.clientSecret }))()
    await expect(mismatch).rejects.toMatchObject({ code: 'token_rejected', oauthError: 'invalid_client' })
  })

  it('the wrong client authentication method is invalid_client', async () => {
    const s = await sim({ clientAuth: 'client_secret_post' })
    await expect(obtainFor(simulatorEnv(s))()).rejects.toMatchObject({ code: 'token_rejected', oauthError: 'invalid_client' })
  })

  it('a wrong access key is invalid_grant', async () => {
    const s = await sim({})
    await expect(obtainFor(simulatorEnv(s, { CXONE_ACCESS_KEY_SECRET: 'wrong=' }))()).rejects.toMatchObject({ code: 'token_rejected', oauthError: 'invalid_grant' })
  })
})

describe('the token request on the wire', () => {
  beforeAll(() => { nock.disableNetConnect() })
  afterEach(() => { nock.cleanAll() })
  afterAll(() => { nock.enableNetConnect(); nock.restore() })

  const env = {
    CXONE_TOKEN_URL: 'https://auth.example.test/auth/token',
    CXONE_API_URL: 'https://api.example.test',
    CXONE_CLIENT_ID: 'client-1',
    CXONE_CLIENT_SECRET: 'secret-1',
    CXONE_ACCESS_KEY_ID: 'KEYID',
    CXONE_ACCESS_KEY_SECRET: 'ZmFrZS1rZXktc2VjcmV0LXRoYXQtZW5kcy13aXRoLXBhZGRpbmc='
  }

  it('POSTs a form encoded exactly once, with Content-Type, Accept and Basic, and no scope unless set', async () => {
    let seen: { body: string, headers: Record<string, string | string[]> } | undefined
    nock('https://auth.example.test').post('/auth/token').reply(function (_uri, body) {
      seen = { body: String(body), headers: this.req.headers }
      return [200, { access_token: 'tok', token_type: 'Bearer', expires_in: 3600 }]
    })
    await obtainFor(env)()
    expect(seen?.body).toBe('grant_type=password&username=KEYID&password=ZmFrZS1rZXktc2VjcmV0LXRoYXQtZW5kcy13aXRoLXBhZGRpbmc%3D')
    expect(seen?.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(seen?.headers.accept).toBe('application/json')
    expect(seen?.headers.authorization).toBe(`Basic ${Buffer.from('client-1:secret-1').toString('base64')}`)
  })

  it('sends scope when CXONE_SCOPE is set, and credentials in the body with client_secret_post', async () => {
    let body = ''
    let auth: unknown
    nock('https://auth.example.test').post('/auth/token').reply(function (_uri, b) {
      body = String(b)
      auth = this.req.headers.authorization
      return [200, { access_token: 'tok', token_type: 'Bearer' }]
    })
    await obtainFor({ ...env, CXONE_SCOPE: 'RealTimeApi AdminApi', CXONE_CLIENT_AUTH: 'client_secret_post' })()
    expect(new URLSearchParams(body).get('scope')).toBe('RealTimeApi AdminApi')
    expect(new URLSearchParams(body).get('client_id')).toBe('client-1')
    expect(new URLSearchParams(body).get('client_secret')).toBe('secret-1')
    expect(auth).toBeUndefined()
  })

  it('does not follow a redirect', async () => {
    nock('https://auth.example.test').post('/auth/token').reply(302, '', { location: 'https://evil.example.test/steal' })
    const scope = nock('https://evil.example.test').post('/steal').reply(200, { access_token: 'x' })
    await expect(obtainFor(env)()).rejects.toMatchObject({ code: 'token_invalid_response' })
    expect(scope.isDone()).toBe(false)
  })

  it('gives up after the timeout with token_unavailable', async () => {
    nock('https://auth.example.test').post('/auth/token').delay(2_000).reply(200, { access_token: 'late' })
    const err = await obtainFor({ ...env, CXONE_TOKEN_TIMEOUT_MS: '200' })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ProxyError)
    expect((err as ProxyError).code).toBe('token_unavailable')
    expect((err as ProxyError).message).toContain('no answer within 200 ms')
  })

  it('discovers the token endpoint from the issuer', async () => {
    nock('https://issuer.example.test').get('/.well-known/openid-configuration').reply(200, { token_endpoint: 'https://issuer.example.test/auth/token' })
    const token = nock('https://issuer.example.test').post('/auth/token').reply(200, { access_token: 'tok', token_type: 'Bearer' })
    const { CXONE_TOKEN_URL: _dropped, ...rest } = env
    await obtainFor({ ...rest, CXONE_ISSUER: 'https://issuer.example.test' })()
    expect(token.isDone()).toBe(true)
  })
})
