import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildRewrite, rewriteChunk } from '../src/proxy/link-rewriter.js'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'

// Issue 17 #12: a large report dense with API links is rewritten in linear time and yields between chunks, so
// other callers are answered meanwhile. (Before: five 20 MB answers delayed a health check by 4.6 s.)

const LINKS = 400_000
let stack: Stack & { api: Upstream }
beforeAll(async () => {
  stack = await startApiStack((_req, res) => {
    const origin = stack.api.url
    // Chunked, no Content-Length: streamed through the rewriter; about 16 MB, one link every 40 bytes.
    res.writeHead(200, { 'content-type': 'application/json' })
    const item = Buffer.from(`"${origin}/inContactAPI/x",`)
    const chunk = Buffer.concat(Array(1600).fill(item))
    res.write('[')
    for (let i = 0; i < LINKS / 1600; i++) res.write(chunk)
    res.end('0]')
  })
})
afterAll(async () => { await stack.close() })

describe('a large answer dense with links', () => {
  it('costs one search per link found (plus one per pattern), not one per link per pattern: linear', () => {
    const from = 'https://api-na1.niceincontact.com'
    const rw = buildRewrite(from, 'http://127.0.0.1:8080')
    const n = 10_000
    const { out, searches } = rewriteChunk(Buffer.from(`[${`"${from}/x",`.repeat(n)}0]`), rw, true)
    expect(Buffer.concat(out).toString().split('http://127.0.0.1:8080/x').length - 1).toBe(n)
    // Four patterns (plain and JSON-escaped, scheme as sent and upper-cased): each absent one is searched once.
    expect(rw.needles).toHaveLength(4)
    expect(searches).toBeLessThanOrEqual(n + rw.needles.length)
  })

  it('is rewritten whole, quickly, while a health check is answered at once', async () => {
    const started = performance.now()
    const download = fetch(`${stack.url}${API}/reports/big`).then(async (r) => await r.text())
    await new Promise((resolve) => setTimeout(resolve, 50))
    const healthStarted = performance.now()
    expect((await fetch(`${stack.url}/_proxy/healthz`)).status).toBe(200)
    const healthMs = performance.now() - healthStarted
    const body = await download
    const totalMs = performance.now() - started
    expect(body.split(`${stack.url}/inContactAPI/x`).length - 1).toBe(LINKS)
    expect(body.includes(stack.api.url)).toBe(false)
    // Linear and yielding, this takes a fraction of a second; the quadratic scan took minutes for the same bytes.
    expect(totalMs).toBeLessThan(8_000)
    expect(healthMs).toBeLessThan(1_000)
  }, 60_000)
})
