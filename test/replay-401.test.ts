import { createHash, randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'
import { startUpstream, type Handler, type Upstream } from './helpers/upstream.js'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('an upstream 401 on the proxy\'s bearer', () => {
  let stack: Stack | undefined
  let upstream: Upstream | undefined
  afterEach(async () => {
    await stack?.close()
    await upstream?.close()
    stack = undefined
    upstream = undefined
  })

  async function withUpstream (handler: Handler): Promise<{ stack: Stack, upstream: Upstream }> {
    upstream = await startUpstream(handler)
    stack = await startStack({ env: { CXONE_API_URL: upstream.url } })
    return { stack, upstream }
  }

  it('invalidates the token, fetches one new token and replays the GET once', async () => {
    stack = await startStack()
    stack.sim.revokeAll()
    const r = await fetch(`${stack.url}${API}/skills/activity`)
    expect(r.status).toBe(200)
    expect(stack.sim.tokenRequests).toBe(2)
    expect(stack.sim.unauthorizedApiCalls).toBe(1)
    const [first, second] = stack.sim.apiRequests.slice(-2)
    expect(first?.headers.authorization).not.toBe(second?.headers.authorization)
  })

  it('replays a small POST with the same body and the new bearer', async () => {
    const { stack, upstream } = await withUpstream((_req, res, body, n) => {
      if (n === 1) { res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' }); res.end('{"error":"invalid_token"}'); return }
      res.writeHead(201, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ sha: sha(body) }))
    })
    const body = Buffer.from(JSON.stringify({ note: 'x'.repeat(10_000) }))
    const r = await fetch(`${stack.url}${API}/contacts/1/notes`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
    expect(r.status).toBe(201)
    expect(r.headers.get('www-authenticate')).toBeNull()
    expect(await r.json()).toEqual({ sha: sha(body) })
    expect(upstream.seen).toHaveLength(2)
    expect(upstream.seen[0]?.headers.authorization).not.toBe(upstream.seen[1]?.headers.authorization)
    expect(stack.sim.tokenRequests).toBe(2)
  })

  it('passes the 401 through for a large streamed body, after dropping the token', async () => {
    const { stack, upstream } = await withUpstream((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end('{"error":"invalid_token"}')
    })
    const r = await fetch(`${stack.url}${API}/upload`, { method: 'POST', body: randomBytes(200_000), headers: { 'content-type': 'application/octet-stream' } })
    expect(r.status).toBe(401)
    expect(await r.json()).toEqual({ error: 'invalid_token' })
    expect(upstream.seen).toHaveLength(1)
    await stack.running.proxy.provider.getToken()
    expect(stack.sim.tokenRequests).toBe(2)
  })

  it('never loops: a second 401 goes to the caller', async () => {
    const { stack, upstream } = await withUpstream((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end('{"error":"insufficient_scope"}')
    })
    const r = await fetch(`${stack.url}${API}/skills/activity`)
    expect(r.status).toBe(401)
    expect(await r.json()).toEqual({ error: 'insufficient_scope' })
    expect(upstream.seen).toHaveLength(2)
    expect(stack.sim.tokenRequests).toBe(2)
  })

  it('a route whose 401s are not about the token costs one new token, not one per call', async () => {
    let revoked: string | undefined = undefined
    const { stack, upstream } = await withUpstream((req, res) => {
      if ((req.url ?? '').includes('/forbidden') || req.headers.authorization === revoked) {
        res.writeHead(401, { 'content-type': 'application/json' })
        res.end('{"error":"insufficient_permissions"}')
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
    for (let i = 0; i < 10; i++) expect((await fetch(`${stack.url}${API}/skills/forbidden`)).status).toBe(401)
    expect(stack.sim.tokenRequests).toBe(2)
    expect(upstream.seen).toHaveLength(11)
    // Other routes, even in the same family, still get their replay when the token is revoked.
    revoked = `Bearer ${stack.running.proxy.provider.current()?.accessToken ?? ''}`
    const before = upstream.seen.length
    expect((await fetch(`${stack.url}${API}/skills/activity`)).status).toBe(200)
    expect(upstream.seen.length).toBe(before + 2)
    expect(stack.sim.tokenRequests).toBe(3)
  })
})
