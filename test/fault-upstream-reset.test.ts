import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

describe('fault: the API resets the connection mid-response', () => {
  let api: Upstream
  let stack: Stack
  let shared: Stack
  beforeAll(async () => {
    api = await startUpstream((req, res) => {
      const json = (req.url ?? '').includes('json')
      res.writeHead(200, json ? { 'content-type': 'application/json' } : { 'content-type': 'application/octet-stream', 'content-length': '100000' })
      res.write(json ? `{"_links":{"next":"${api.url}/x"},"items":[` : Buffer.alloc(30_000, 1))
      setTimeout(() => { res.socket?.destroy() }, 50)
    })
    // Streamed as it comes (coalescing off), a broken answer can only reach the caller as a broken response.
    stack = await startStack({ env: { CXONE_API_URL: api.url, PROXY_COALESCE: 'false' } })
    shared = await startStack({ env: { CXONE_API_URL: api.url } })
  })
  afterAll(async () => {
    await shared.close()
    await stack.close()
    await api.close()
  })

  it.each(['bytes', 'json'])('the caller sees a broken %s response, never a short body presented as complete', async (kind) => {
    const outcome = await fetch(`${stack.url}${API}/${kind}`).then(async (r) => {
      const body = await r.arrayBuffer()
      return `complete ${r.status} ${body.byteLength}`
    }, (err: unknown) => `error ${String(err)}`).catch((err: unknown) => `error ${String(err)}`)
    expect(outcome).toMatch(/^error/)
  })

  it.each(['bytes', 'json'])('a %s answer read whole to be shared (coalescing, issue 13) that breaks off: a clean 502 upstream_invalid_response', async (kind) => {
    const r = await fetch(`${shared.url}${API}/${kind}`)
    expect(r.status).toBe(502)
    expect(await r.json()).toMatchObject({ error: { code: 'upstream_invalid_response' } })
  })

  it('a reset before any answer is 502 destination_unavailable', async () => {
    const dead = await startUpstream((_req, res) => { res.socket?.destroy() })
    const other = await startStack({ env: { CXONE_API_URL: dead.url } })
    try {
      const r = await fetch(`${other.url}${API}/x`)
      expect(r.status).toBe(502)
      expect(await r.json()).toMatchObject({ error: { code: 'destination_unavailable' } })
    } finally {
      await other.close()
      await dead.close()
    }
  })
})
