import { describe, expect, it } from 'vitest'
import { attemptOutcome, excerpt } from '../src/check/answer.js'
import { invalidClientCauses, type AuthContext } from '../src/check/causes.js'
import type { Observation } from '../src/check/http.js'
import { judgeTokenResponse } from '../src/check/judge-token.js'
import { describeBasic, describeBody, maskSecret, scrub, secretForms, shortenId } from '../src/check/mask.js'
import { probeVerdict } from '../src/check/probe.js'
import type { ProbeAttempt } from '../src/check/report.js'
import { basicAuthorization } from '../src/token/client-auth.js'

/** The pure half of `check`: masking, judging answers, choosing the causes. Plain objects in, plain objects out. */

const AUTH: AuthContext = { clientAuth: 'client_secret_basic', basicEncoding: 'rfc6749', grantType: 'password', encodingsDiffer: false, methodsOffered: undefined }
const NET = { url: 'https://cxone.example/auth/token', urlVar: 'CXONE_ISSUER', timeoutMs: 1000, envProxy: false }
const answer = (status: number, body: string, contentType = 'application/json', location: string | null = null): Observation => ({ kind: 'answer', status, contentType, text: body, location, retryAfter: null })

describe('masking', () => {
  it('shows a secret as its length and sha256 prefix, `printf %s secret | sha256sum` style', () => {
    expect(maskSecret('secret')).toBe('<secret, 6 chars, sha256 2bb8…>')
  })

  it('shortens an id to at most 8 characters and never more than a third of it', () => {
    expect(shortenId('067ed166-8c0f-4e3a-9a1c-5b0c2d3e4f50')).toBe('067ed166…')
    expect(shortenId('abcdef')).toBe('ab…')
    expect(shortenId('ab')).toBe('…')
  })

  it('decodes a Basic header to its shape, noting RFC 6749 form-encoding (the Appendix B characters grow)', () => {
    const id = '067ed166-8c0f-4e3a-9a1c-5b0c2d3e4f50'
    expect(describeBasic(basicAuthorization(id, 'a+b/c=d%e f', 'raw'), id, 'a+b/c=d%e f')).toBe('Basic base64("067ed166…:<secret, 11 chars, sha256 944b…>")')
    expect(describeBasic(basicAuthorization(id, 'a+b/c=d%e f', 'rfc6749'), id, 'a+b/c=d%e f')).toBe('Basic base64("067ed166…:<secret, 11 chars, sha256 944b…, form-encoded to 19 chars>")')
  })

  it('shows the body with each credential replaced by the variable it came from', () => {
    expect(describeBody('grant_type=password&username=K&password=S%3D%3D&client_id=I&client_secret=X&scope=a+b'))
      .toBe('grant_type=password&username=<CXONE_ACCESS_KEY_ID>&password=<CXONE_ACCESS_KEY_SECRET>&client_id=<CXONE_CLIENT_ID>&client_secret=<CXONE_CLIENT_SECRET>&scope=a%20b')
  })

  it('scrubs a secret in every form it travels in, but leaves short values alone', () => {
    const forms = secretForms(['p@ss word=', 'short'])
    expect(scrub('raw p@ss word= form p%40ss+word%3D uri p%40ss%20word%3D short', forms)).toBe('raw <redacted> form <redacted> uri <redacted> short')
  })

  it('keeps the visible text of an HTML page, short', () => {
    expect(excerpt('<html><head><style>h1{}</style></head><body><h1>Sign  in</h1>\n<p>to continue</p></body></html>')).toBe('Sign in to continue')
    expect(excerpt('x'.repeat(200))).toHaveLength(121)
  })
})

describe('judging a token answer', () => {
  it('tells accepted, client accepted, client rejected and unclear apart', () => {
    expect(attemptOutcome(answer(200, '{"access_token":"t","expires_in":3600}'))).toBe('accepted')
    expect(attemptOutcome(answer(400, '{"error":"invalid_grant"}'))).toBe('client_accepted')
    expect(attemptOutcome(answer(400, '{"error":"unauthorized_client"}'))).toBe('client_accepted')
    expect(attemptOutcome(answer(401, '{"error":"invalid_client"}'))).toBe('client_rejected')
    expect(attemptOutcome(answer(400, '{"error":"invalid_request"}'))).toBe('client_rejected')
    expect(attemptOutcome(answer(200, '<html></html>', 'text/html'))).toBe('unclear')
    expect(attemptOutcome(answer(503, '{"error":"server_error"}'))).toBe('unclear')
    expect(attemptOutcome({ kind: 'network', error: new Error('x') })).toBe('unclear')
  })

  it('accepts errorDescription as well as error_description', () => {
    const j = judgeTokenResponse(answer(401, '{"error":"invalid_client","errorDescription":"Bad client credentials"}'), 0, AUTH, NET)
    expect(j.step.summary).toBe('401 invalid_client (Bad client credentials)')
  })

  it('a redirect: set the variable to the final URL', () => {
    const j = judgeTokenResponse(answer(302, '', '', 'https://elsewhere.example/'), 0, AUTH, NET)
    expect(j.diagnosis?.causes).toEqual([{ code: 'redirect_not_followed', cause: 'https://cxone.example/auth/token redirects to https://elsewhere.example/: redirects are not followed, so credentials never travel to another address', fix: 'set CXONE_ISSUER to the final URL' }])
  })

  it('200 without an access_token: not the token endpoint', () => {
    const j = judgeTokenResponse(answer(200, '{"token_type":"Bearer"}'), 0, AUTH, NET)
    expect(j.diagnosis?.causes[0]?.cause).toBe('https://cxone.example/auth/token is not CXone\'s token endpoint: wrong URL or region')
  })

  it('other OAuth errors take the remedy table\'s fix', () => {
    const j = judgeTokenResponse(answer(400, '{"error":"unauthorized_client","error_description":"no password grant"}'), 0, AUTH, NET)
    expect(j.diagnosis?.causes).toEqual([{ code: 'token_request_refused', cause: 'the token endpoint refused the request: unauthorized_client (no password grant)', fix: 'The app is not allowed this grant: set CXONE_GRANT_TYPE (password with an access key, or client_credentials)' }])
  })
})

describe('causes of invalid_client', () => {
  const first = (ctx: Partial<AuthContext>): string | undefined => invalidClientCauses({ ...AUTH, ...ctx })[0]?.cause
  it('leads with the id or secret; with special characters under Basic, with the encoding', () => {
    expect(first({})).toMatch(/^the client id or secret is wrong/)
    expect(first({ encodingsDiffer: true })).toMatch(/^the server decodes the Basic header differently/)
    expect(first({ encodingsDiffer: true, clientAuth: 'client_secret_post' })).toMatch(/^the client id or secret is wrong/)
  })

  it('mentions the discovery document when it does not offer the configured method', () => {
    const causes = invalidClientCauses({ ...AUTH, methodsOffered: ['client_secret_post'] })
    expect(causes.map((c) => c.cause)).toContain('the app is registered for client_secret_post, not client_secret_basic (the discovery document does not even list client_secret_basic): NICE fixes the method per app')
  })
})

describe('the probe\'s verdict', () => {
  const attempt = (a: Partial<ProbeAttempt>): ProbeAttempt => ({ clientAuth: 'client_secret_basic', basicEncoding: 'rfc6749', configured: false, outcome: 'client_rejected', answer: '401 invalid_client', ...a })
  const configured = { clientAuth: 'client_secret_basic', basicEncoding: 'rfc6749' } as const

  it('prefers the configured variant when it is accepted', () => {
    const v = probeVerdict([attempt({ configured: true, outcome: 'client_accepted' }), attempt({ basicEncoding: 'raw', outcome: 'accepted' })], configured)
    expect(v.use).toEqual({ CXONE_CLIENT_AUTH: 'client_secret_basic', CXONE_BASIC_ENCODING: 'rfc6749' })
  })

  it('names only CXONE_CLIENT_AUTH for post, both settings for Basic', () => {
    expect(probeVerdict([attempt({ configured: true }), attempt({ clientAuth: 'client_secret_post', basicEncoding: null, outcome: 'accepted' })], configured).use)
      .toEqual({ CXONE_CLIENT_AUTH: 'client_secret_post' })
    expect(probeVerdict([attempt({ configured: true }), attempt({ basicEncoding: 'raw', outcome: 'client_accepted' })], configured).use)
      .toEqual({ CXONE_CLIENT_AUTH: 'client_secret_basic', CXONE_BASIC_ENCODING: 'raw' })
  })

  it('has no setting when nothing was accepted, and says why', () => {
    const rejected = probeVerdict([attempt({ configured: true }), attempt({ basicEncoding: 'raw', outcome: 'duplicate', answer: 'not sent: the same bytes as the configured request' }), attempt({ clientAuth: 'client_secret_post', basicEncoding: null })], configured)
    expect(rejected.use).toBeUndefined()
    expect(rejected.conclusion).toMatch(/^the server accepted none of the variants/)
    const unclear = probeVerdict([attempt({ configured: true, outcome: 'unclear' })], configured)
    expect(unclear.conclusion).toMatch(/^no conclusion/)
  })
})
