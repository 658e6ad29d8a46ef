import { describe, expect, it } from 'vitest'
import { ConfigProblems, loadConfig } from '../src/core/config.js'
import { ConfigError, ProxyError } from '../src/core/errors.js'
import { parseTokenResponse, type RawResponse } from '../src/token/token-client.js'

/** Errors carry their facts as fields, so nothing downstream reads a message's words (issue 21). */
const json = (status: number, body: unknown): RawResponse => ({ status, contentType: 'application/json', retryAfter: null, text: JSON.stringify(body) })

function thrown (fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected an error')
}

describe('a token endpoint\'s answer', () => {
  it('keeps the OAuth error, its description and the status as fields', () => {
    const err = thrown(() => parseTokenResponse(json(401, { error: 'invalid_client', error_description: 'Bad client credentials' }), 0)) as ProxyError
    expect(err).toBeInstanceOf(ProxyError)
    expect({ code: err.code, oauthError: err.oauthError, oauthDescription: err.oauthDescription, upstreamStatus: err.upstreamStatus })
      .toEqual({ code: 'token_rejected', oauthError: 'invalid_client', oauthDescription: 'Bad client credentials', upstreamStatus: 401 })
    expect((err.withRetryAfter(5)).oauthDescription).toBe('Bad client credentials')
  })

  it.each([
    ['no access_token', { token_type: 'Bearer', expires_in: 3600 }, 'access_token'],
    ['a token that is not Bearer', { access_token: 'abc', token_type: 'MAC', expires_in: 3600 }, 'token_type'],
    ['a lifetime that is not a number', { access_token: 'abc', token_type: 'Bearer', expires_in: 'soon' }, 'expires_in']
  ])('names the field at fault: %s', (_name, body, field) => {
    const err = thrown(() => parseTokenResponse(json(200, body), 0)) as ProxyError
    expect({ code: err.code, answerField: err.answerField, upstreamStatus: err.upstreamStatus }).toEqual({ code: 'token_invalid_response', answerField: field, upstreamStatus: 200 })
  })
})

describe('a secret\'s problem', () => {
  it('names its variable as a field', () => {
    const err = thrown(() => loadConfig({ env: { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 's', CXONE_CLIENT_SECRET_FILE: '/nonexistent' }, skipDefaultFile: true })) as ConfigProblems
    const [problem] = err.problems as ConfigError[]
    expect({ code: problem?.code, variable: problem?.variable }).toEqual({ code: 'config_conflicting_secret', variable: 'CXONE_CLIENT_SECRET' })
  })
})
