import { connect } from 'node:net'
import { deflateRawSync, deflateSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'

// Issue 17 #6: legal upstream answers pass; broken ones are 502 with a code, never 500 internal_error.

let stack: (Stack & { api: Upstream }) | undefined
afterEach(async () => {
  await stack?.close()
  stack = undefined
})

describe('upstream answers', () => {
  it('a 304 carrying Content-Length and no body (RFC 9110 §8.6) passes as a 304', async () => {
    stack = await startApiStack((_req, res) => {
      // Node refuses to send a body with 304; write the head by hand as ASP.NET does.
      res.socket?.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nETag: "v1"\r\n\r\n')
      res.socket?.end()
    })
    const r = await fetch(`${stack.url}${API}/skills/activity`, { headers: { 'if-none-match': '"v1"' } })
    expect(r.status).toBe(304)
    expect(r.headers.get('etag')).toBe('"v1"')
    expect(await r.text()).toBe('')
  })

  it('JSON sent as raw deflate with Content-Encoding: deflate is decoded like zlib deflate', async () => {
    const json = JSON.stringify({ lastPollTime: 'x', n: 1 })
    for (const encode of [deflateRawSync, deflateSync]) {
      stack = await startApiStack((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'deflate' })
        res.end(encode(Buffer.from(json)))
      })
      const r = await fetch(`${stack.url}${API}/skills/activity`)
      expect(r.status).toBe(200)
      expect(await r.json()).toEqual({ lastPollTime: 'x', n: 1 })
      await stack.close()
      stack = undefined
    }
  })

  it('a chunked JSON answer cut before its last chunk: 502 upstream_invalid_response, never 500', async () => {
    stack = await startApiStack((_req, res) => {
      res.socket?.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n')
      res.socket?.destroy()
    })
    const { port } = new URL(stack.url)
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1')
      let data = ''
      socket.on('data', (d: Buffer) => { data += d.toString() })
      socket.on('error', () => {})
      socket.on('close', () => { resolve(data) })
      socket.write(`GET ${API}/skills/activity HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
    })
    expect(raw).toMatch(/^HTTP\/1\.1 502 /)
    expect(raw).toContain('proxy-status: cxone-auth-proxy; error=http_protocol_error; details="upstream_invalid_response"')
    expect(raw).toContain('"code":"upstream_invalid_response"')
  })

  it('a gzip answer that is not gzip: 502 upstream_invalid_response', async () => {
    stack = await startApiStack((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      res.end('{"not":"gzip"}')
    })
    const r = await fetch(`${stack.url}${API}/skills/activity`)
    expect(r.status).toBe(502)
    expect(await r.json()).toEqual({ error: { code: 'upstream_invalid_response', message: 'the CXone API\'s answer broke off or could not be decoded (Z_DATA_ERROR)' } })
  })
})
