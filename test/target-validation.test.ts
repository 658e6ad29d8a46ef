import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ProxyError } from '../src/core/errors.js'
import { checkTarget } from '../src/proxy/admission.js'
import { API, startStack, type Stack } from './helpers/harness.js'
import { rawRequest } from './helpers/raw-http.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

const REFUSED = [
  `${API}/../../admin`,
  `${API}/./skills`,
  `${API}/%2e%2e/secret`,
  `${API}/%2E/skills`,
  `${API}/.%2e/x`,
  `${API}/skills%2factivity`,
  `${API}/skills%5Cactivity`,
  `${API}/skills\\..\\x`,
  `${API}/bad%zzescape`,
  '//evil.example.com/steal',
  'http://evil.example.com/steal',
  '*'
]

describe('request targets', () => {
  it.each(REFUSED)('refuses %s', (target) => {
    expect(() => { checkTarget(target) }).toThrow(ProxyError)
  })

  it.each([`${API}/skills/activity?x=../y`, `${API}/files/report..csv`, `${API}/a.b/c`, '/'])('accepts %s', (target) => {
    expect(() => { checkTarget(target) }).not.toThrow()
  })

  describe('on the wire', () => {
    let upstream: Upstream
    let stack: Stack
    beforeAll(async () => {
      upstream = await startUpstream()
      stack = await startStack({ env: { CXONE_API_URL: upstream.url } })
    })
    afterAll(async () => {
      await stack.close()
      await upstream.close()
    })

    it.each(REFUSED.filter((t) => !t.includes('\\')))('answers 400 bad_request to %s and forwards nothing', async (target) => {
      const before = upstream.seen.length
      const r = await rawRequest(stack.url, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
      expect(r.status).toBe(400)
      expect(r.headers['proxy-status']).toBe('cxone-auth-proxy; error=http_request_error; details="bad_request"')
      expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'bad_request' } })
      expect(upstream.seen.length).toBe(before)
    })
  })
})
