import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'
import { rawRequest } from './helpers/raw-http.js'

describe('attack: oversized request headers', () => {
  let stack: Stack
  beforeAll(async () => { stack = await startStack({ env: { PROXY_MAX_HEADER_BYTES: '4096' } }) })
  afterAll(async () => { await stack.close() })

  it('gets 431 in the proxy\'s JSON shape with Proxy-Status', async () => {
    const r = await rawRequest(stack.url, `GET ${API}/server-time HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`)
    expect(r.status).toBe(431)
    expect(JSON.parse(r.body)).toEqual({ error: { code: 'request_header_fields_too_large', message: expect.stringContaining('PROXY_MAX_HEADER_BYTES') } })
    expect(r.headers['proxy-status']).toBe('cxone-auth-proxy; error=http_request_error; details="request_header_fields_too_large"')
    expect(stack.sim.apiRequests).toHaveLength(0)
  })
})
