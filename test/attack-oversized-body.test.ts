import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'

describe('attack: an oversized request body', () => {
  let api: Upstream
  let stack: Stack
  beforeAll(async () => {
    const s = await startApiStack(undefined, { PROXY_MAX_BODY_BYTES: '100000' })
    stack = s
    api = s.api
  })
  afterAll(async () => { await stack.close() })

  it('a Content-Length over the limit gets 413 payload_too_large before anything is forwarded', async () => {
    const r = await fetch(`${stack.url}${API}/upload`, { method: 'POST', body: randomBytes(100_001), headers: { 'content-type': 'application/octet-stream' } })
    expect(r.status).toBe(413)
    expect(await r.json()).toMatchObject({ error: { code: 'payload_too_large' } })
    expect(r.headers.get('proxy-status')).toContain('error=http_request_error')
    expect(api.seen).toHaveLength(0)
  })

  it('a chunked upload that grows past the limit is cut: 413, and the API never receives a complete body', async () => {
    const chunks = Array.from({ length: 30 }, () => randomBytes(10_000))
    const r = await fetch(`${stack.url}${API}/upload`, { method: 'POST', body: Readable.toWeb(Readable.from(chunks)) as ReadableStream, duplex: 'half', headers: { 'content-type': 'application/octet-stream' } } as RequestInit)
      .then((res) => res.status, () => 'connection cut')
    expect([413, 'connection cut']).toContain(r)
    await new Promise((resolve) => setTimeout(resolve, 100))
    for (const seen of api.seen) expect(seen.body.length).toBeLessThanOrEqual(100_000)
  })

  it('a body at the limit passes', async () => {
    const r = await fetch(`${stack.url}${API}/upload`, { method: 'POST', body: randomBytes(100_000), headers: { 'content-type': 'application/octet-stream' } })
    expect(r.status).toBe(200)
    expect(await r.json()).toMatchObject({ bodyLength: 100_000 })
  })
})
