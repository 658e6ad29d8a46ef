import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'

// Issue 26: a small JSON answer to a call of its own is collected whole from undici's parser (upstream-call.ts),
// not through a body stream. What a caller sees must be what it saw through the stream: the bytes, links
// rewritten, a clean 502 for a body cut short, and a call cancelled when its caller leaves mid-body.

let stack: (Stack & { api: Upstream }) | undefined
afterEach(async () => {
  await stack?.close()
  stack = undefined
})

/** A raw HTTP/1.1 exchange on a fresh connection: everything the proxy wrote until it closed. */
async function raw (url: string, request: string): Promise<string> {
  const { port } = new URL(url)
  return await new Promise<string>((resolve) => {
    const socket = connect(Number(port), '127.0.0.1')
    let data = ''
    socket.on('data', (d: Buffer) => { data += d.toString() })
    socket.on('error', () => {})
    socket.on('close', () => { resolve(data) })
    socket.write(request)
  })
}

async function until (ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!ok() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
}

describe('a small JSON answer read whole', () => {
  for (const [name, method, env] of [['a GET with coalescing off', 'GET', { PROXY_COALESCE: 'false' }], ['a POST', 'POST', {}]] as const) {
    it(`${name}: the same bytes, with the API's links rewritten to the proxy`, async () => {
      stack = await startApiStack((req, res) => {
        const self = `http://${req.headers.host ?? ''}${API}/skills/activity?top=4`
        const body = Buffer.from(JSON.stringify({ skills: [{ id: 1, name: 'é ✓' }], links: { self } }))
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length })
        // In pieces: the answer arrives in several chunks, and is still one body.
        res.write(body.subarray(0, 10))
        setTimeout(() => { res.end(body.subarray(10)) }, 20)
      }, env)
      const r = await fetch(`${stack.url}${API}/skills/activity`, { method, ...(method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}) })
      expect(r.status).toBe(200)
      const text = await r.text()
      expect(Number(r.headers.get('content-length'))).toBe(Buffer.byteLength(text))
      expect(JSON.parse(text)).toEqual({ skills: [{ id: 1, name: 'é ✓' }], links: { self: `${stack.url}${API}/skills/activity?top=4` } })
    })

    it(`${name}: a body cut before its Content-Length is 502 destination_unavailable, never a short 200`, async () => {
      stack = await startApiStack((_req, res) => {
        res.socket?.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"skills":[')
        setTimeout(() => { res.socket?.destroy() }, 20)
      }, env)
      const answer = await raw(stack.url, `${method} ${API}/skills/activity HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}`)
      expect(answer).toMatch(/^HTTP\/1\.1 502 /)
      // What the stream path answered too: the API closed the connection before the body was complete.
      expect(answer).toContain('"code":"destination_unavailable"')
      expect(answer).toContain('closed the connection')
      expect(answer).not.toContain('{"skills":[')
    })

    it(`${name}: a caller who leaves while the body arrives cancels the upstream call at once`, async () => {
      let closedUpstream = 0
      let started = 0
      stack = await startApiStack((req, res) => {
        started++
        req.socket.once('close', () => { closedUpstream++ })
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 })
        res.write('{"skills":[')
      }, env)
      const callers = Array.from({ length: 5 }, () => new AbortController())
      const calls = callers.map(async (c, i) => await fetch(`${stack?.url ?? ''}${API}/skills/${i}`, { method, signal: c.signal, ...(method === 'POST' ? { body: '{}' } : {}) }).then(async (r) => await r.text()).catch(() => 'gone'))
      // The callers leave once every answer has begun to arrive upstream (no timing guess on a loaded machine).
      await until(() => started === 5)
      for (const c of callers) c.abort()
      expect(await Promise.all(calls)).toEqual(Array(5).fill('gone'))
      await until(() => closedUpstream === 5)
      expect(closedUpstream).toBe(5)
    })
  }
})
