import { afterEach, describe, expect, it } from 'vitest'
import { fingerprint, parseTokenResponse, type RawResponse } from '../src/token/token-client.js'
import { API, startStack, type Stack } from './helpers/harness.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

const NOW = 1_700_000_000_000
const answer = (accessToken: string): RawResponse => ({
  status: 200,
  contentType: 'application/json',
  retryAfter: null,
  text: JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: 3600 })
})

const message = (token: string, char: string): string =>
  `token endpoint sent an access_token (fingerprint ${fingerprint(token)}) containing ${char}, which a bearer token cannot carry (RFC 6750 §2.1 allows letters, digits, - . _ ~ + / and a trailing =): check CXONE_TOKEN_URL points at the token endpoint`

describe('a token is accepted only with the characters of an RFC 6750 b64token', () => {
  it.each([
    ['CR', 'abc\rdef', 'U+000D (CR)'],
    ['LF', 'abc\ndef', 'U+000A (LF)'],
    ['CRLF and a header', 'abc\r\nX-Injected: 1', 'U+000D (CR)'],
    ['NUL', 'abc\0def', 'U+0000 (NUL)'],
    ['U+2028', 'abc\u2028def', 'U+2028 (line separator)'],
    ['a space', 'abc def', 'U+0020 (space)'],
    ['a non-ASCII letter', 'abcédef', 'U+00E9'],
    ['an = before the end', 'abc=def', 'U+003D (an = before the end)']
  ])('refuses a token containing %s as token_invalid_response, naming the character and never the token', (_name, token, char) => {
    let caught: unknown
    try {
      parseTokenResponse(answer(token), NOW)
    } catch (err) {
      caught = err
    }
    expect(caught).toMatchObject({ code: 'token_invalid_response', message: message(token, char) })
  })

  it.each([
    ['a JWT', 'eyJhbGciOiJSUzI1NiJ9.eyJ0ZW5hbnRJZCI6InQifQ.c2ln-_'],
    ['every b64token character and padding', 'AZaz09-._~+/=='],
    ['a single character', 'x']
  ])('accepts %s', (_name, token) => {
    expect(parseTokenResponse(answer(token), NOW).accessToken).toBe(token)
  })

  describe('through the proxy', () => {
    let stack: Stack | undefined
    let tokenEndpoint: Upstream | undefined
    let api: Upstream | undefined
    afterEach(async () => {
      await stack?.close()
      await tokenEndpoint?.close()
      await api?.close()
    })

    it('a token carrying CRLF is never reported ready nor sent: callers get 502 token_invalid_response', async () => {
      const token = 'good-part\r\nX-Injected: yes'
      tokenEndpoint = await startUpstream((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }))
      })
      api = await startUpstream()
      stack = await startStack({ waitForToken: false, env: { CXONE_TOKEN_URL: `${tokenEndpoint.url}/auth/token`, CXONE_API_URL: api.url } })
      const r = await fetch(`${stack.url}${API}/skills/activity`)
      expect(r.status).toBe(502)
      expect(r.headers.get('proxy-status')).toBe('cxone-auth-proxy; error=http_protocol_error; details="token_invalid_response"')
      expect(await r.json()).toEqual({ error: { code: 'token_invalid_response', message: message(token, 'U+000D (CR)') } })
      const ready = await fetch(`${stack.url}/_proxy/readyz`)
      expect(ready.status).toBe(503)
      expect(await ready.json()).toMatchObject({ status: 'not_ready', reason: { code: 'token_invalid_response', message: message(token, 'U+000D (CR)') } })
      expect(api.seen).toEqual([])
      expect(stack.logs.text()).not.toContain('good-part')
    })
  })
})
