import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../src/proxy/headers.js'
import { API, startStack, type Stack } from './helpers/harness.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

describe('header hygiene (pure)', () => {
  it('drops credentials, hop-by-hop and Connection-listed headers; sets bearer, Host and Accept', () => {
    const out = upstreamRequestHeaders({
      host: '127.0.0.1:8080',
      authorization: 'Basic Y2FsbGVyOnNlY3JldA==',
      'proxy-authorization': 'Basic eA==',
      'x-proxy-key': 'k',
      connection: 'keep-alive, x-hop',
      'x-hop': '1',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      upgrade: 'websocket',
      'transfer-encoding': 'chunked',
      forwarded: 'for=1.2.3.4;host=evil',
      'x-forwarded-host': 'evil',
      'x-custom': 'kept'
    }, 'tok', 'api.example.com', 'rid-1')
    expect(out).toEqual({ 'x-custom': 'kept', host: 'api.example.com', authorization: 'Bearer tok', 'x-request-id': 'rid-1', accept: 'application/json' })
  })

  it('keeps an Accept the caller chose, and asks for JSON in place of a bare */*', () => {
    expect(upstreamRequestHeaders({ accept: 'text/csv' }, 't', 'h', 'r').accept).toBe('text/csv')
    expect(upstreamRequestHeaders({ accept: '*/*' }, 't', 'h', 'r').accept).toBe('application/json')
  })

  it('drops hop-by-hop headers of the response', () => {
    expect(downstreamResponseHeaders({ connection: 'close, x-internal', 'x-internal': '1', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', 'content-type': 'application/json', 'retry-after': '3' }))
      .toEqual({ 'content-type': 'application/json', 'retry-after': '3' })
  })
})

describe('header hygiene on the wire', () => {
  let upstream: Upstream
  let stack: Stack
  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive, x-upstream-hop', 'x-upstream-hop': 'secret-topology', 'keep-alive': 'timeout=2', 'x-end-to-end': 'yes' })
      res.end('{"ok":true}')
    })
    stack = await startStack({ env: { CXONE_API_URL: upstream.url } })
  })
  afterAll(async () => {
    await stack.close()
    await upstream.close()
  })

  it('the upstream sees the bearer and its own Host, never the caller\'s credentials or hop-by-hop headers', async () => {
    const answer = await new Promise<{ status: number, headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request(`${stack.url}${API}/skills/activity`, {
        headers: {
          authorization: 'Basic Y2FsbGVyOnNlY3JldA==',
          'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
          connection: 'keep-alive, x-drop-me',
          'x-drop-me': 'gone',
          'keep-alive': 'timeout=9',
          'x-request-id': 'trace-42',
          'x-custom': 'kept'
        }
      }, (res) => {
        res.resume()
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers }) })
      })
      req.on('error', reject)
      req.end()
    })
    expect(answer.status).toBe(200)
    const seen = upstream.seen.at(-1)?.headers ?? {}
    expect(seen.authorization).toMatch(/^Bearer ey/)
    expect(seen.host).toBe(new URL(upstream.url).host)
    expect(seen['proxy-authorization']).toBeUndefined()
    expect(seen['x-drop-me']).toBeUndefined()
    expect(seen['keep-alive']).toBeUndefined()
    expect(seen.accept).toBe('application/json')
    expect(seen['x-custom']).toBe('kept')
    expect(seen['x-request-id']).toBe('trace-42')
    expect(answer.headers['x-request-id']).toBe('trace-42')
    expect(answer.headers['x-upstream-hop']).toBeUndefined()
    expect(answer.headers['x-end-to-end']).toBe('yes')
  })
})
