import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'
import { rawRequest } from './helpers/raw-http.js'

// Issue 17 #7, #10 and the smaller findings: header count, pipelined order, Host tricks, fragments, Expect,
// cookies, Link / Content-Location / upper-case links, small chunked bodies replayed.

let stack: Stack & { api: Upstream }
let revoked = ''
beforeAll(async () => {
  stack = await startApiStack((req, res, body) => {
    if (req.headers.authorization === revoked) {
      res.writeHead(401)
      res.end()
      return
    }
    const url = req.url ?? ''
    if (url.includes('/slow-write')) {
      setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"wrote":true}') }, 300)
      return
    }
    if (url.includes('/links')) {
      const origin = stack.api.url
      const text = JSON.stringify({ next: `${origin.toUpperCase()}${API}/next`, same: `${origin}${API}/x` })
      res.writeHead(200, { 'content-type': 'application/json', link: `<${origin}${API}/next?skip=2>; rel="next"`, 'content-location': `${origin}${API}/links`, 'content-length': Buffer.byteLength(text) })
      res.end(text)
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ method: req.method, url, length: body.length, cookie: req.headers.cookie ?? null }))
  })
})
afterAll(async () => { await stack.close() })

const host = (): string => new URL(stack.url).host

describe('header lines', () => {
  it('more header lines than PROXY_MAX_HEADER_COUNT: 431, and nothing reaches the API', async () => {
    const before = stack.api.seen.length
    const many = Array.from({ length: 150 }, (_v, i) => `X-H${i}: v`).join('\r\n')
    const r = await rawRequest(stack.url, `POST ${API}/contacts HTTP/1.1\r\nHost: ${host()}\r\n${many}\r\nContent-Length: 2\r\n\r\n{}`)
    expect(r.status).toBe(431)
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'request_header_fields_too_large' } })
    expect(stack.api.seen.length).toBe(before)
  })

  it('two Host headers: 400', async () => {
    const r = await rawRequest(stack.url, `GET ${API}/skills HTTP/1.1\r\nHost: ${host()}\r\nHost: evil.test\r\n\r\n`)
    expect(r.status).toBe(400)
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'bad_request' } })
  })

  it.each(['0', '99999'])('a Host port of %s: 403 forbidden_host', async (port) => {
    const r = await rawRequest(stack.url, `GET ${API}/skills HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
    expect(r.status).toBe(403)
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'forbidden_host' } })
  })

  it('a fragment after the query: 400, never forwarded inside the query', async () => {
    const before = stack.api.seen.length
    const r = await rawRequest(stack.url, `GET ${API}/skills?q=1#frag HTTP/1.1\r\nHost: ${host()}\r\n\r\n`)
    expect(r.status).toBe(400)
    expect(stack.api.seen.length).toBe(before)
  })

  it('an Expect other than 100-continue: 417 with the JSON error shape', async () => {
    const r = await rawRequest(stack.url, `POST ${API}/contacts HTTP/1.1\r\nHost: ${host()}\r\nExpect: something-else\r\nContent-Length: 2\r\n\r\n{}`)
    expect(r.status).toBe(417)
    expect(r.headers['proxy-status']).toBe('cxone-auth-proxy; error=http_request_error; details="expectation_failed"')
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'expectation_failed' } })
  })

  it.each([
    ['the request line', (h: string) => `GET ${API}/skills HTTP/1.1\nHost: ${h}\r\n\r\n`],
    ['every line', (h: string) => `GET ${API}/skills HTTP/1.1\nHost: ${h}\nX-A: 1\n\n`]
  ])('bare LF ending %s: 400 with the JSON shape, never forwarded', async (_name, build) => {
    const before = stack.api.seen.length
    const r = await rawRequest(stack.url, build(host()))
    expect(r.status).toBe(400)
    expect(r.headers['proxy-status']).toBe('cxone-auth-proxy; error=http_request_error; details="bad_request"')
    expect(stack.api.seen.length).toBe(before)
  })

  it('caller cookies are not forwarded to CXone', async () => {
    const r = await fetch(`${stack.url}${API}/skills`, { headers: { cookie: 'session=abc' } })
    expect(await r.json()).toMatchObject({ cookie: null })
  })
})

describe('pipelined requests', () => {
  it('a PUT then a GET on one connection reach the API in order, the GET after the PUT was answered', async () => {
    const before = stack.api.seen.length
    const { port } = new URL(stack.url)
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1')
      let data = ''
      socket.on('data', (d: Buffer) => { data += d.toString() })
      socket.on('close', () => { resolve(data) })
      socket.write(`PUT ${API}/slow-write HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 2\r\n\r\n{}GET ${API}/after HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`)
    })
    expect(raw.indexOf('"wrote":true')).toBeLessThan(raw.indexOf('/after'))
    expect(stack.api.seen.slice(before).map((s) => `${s.method} ${s.url}`)).toEqual([`PUT ${API}/slow-write`, `GET ${API}/after`])
  })
})

describe('links in headers and upper-case links', () => {
  it('Link, Content-Location and an HTTP:// upper-case link are rewritten to the proxy', async () => {
    const r = await fetch(`${stack.url}${API}/links`)
    expect(r.headers.get('link')).toBe(`<${stack.url}${API}/next?skip=2>; rel="next"`)
    expect(r.headers.get('content-location')).toBe(`${stack.url}${API}/links`)
    expect(await r.json()).toEqual({ next: `${stack.url}${API}/next`, same: `${stack.url}${API}/x` })
  })
})

describe('a small chunked body meets a revoked token', () => {
  it('is replayed once with the new token, body intact', async () => {
    revoked = `Bearer ${stack.running.proxy.provider.current()?.accessToken ?? ''}`
    const before = stack.api.seen.length
    const r = await rawRequest(stack.url, `POST ${API}/contacts/1/notes HTTP/1.1\r\nHost: ${host()}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n7\r\n{"a":1}\r\n0\r\n\r\n`)
    revoked = ''
    expect(r.status).toBe(200)
    expect(stack.api.seen.slice(before).map((s) => `${s.method} ${s.body.toString()}`)).toEqual(['POST {"a":1}', 'POST {"a":1}'])
  })
})
