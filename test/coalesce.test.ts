import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { shareKey } from '../src/quota/coalesce.js'
import { API, startApiStack, startStack, type Stack } from './helpers/harness.js'
import { startUpstream, type Handler, type Upstream } from './helpers/upstream.js'
import { metricsText, sample } from './helpers/metrics.js'

const N = 8
const HOLD_MS = 300
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

interface Got { status: number, headers: Record<string, string>, body: Buffer }

async function get (url: string, init: RequestInit = {}): Promise<Got> {
  const r = await fetch(url, init)
  return { status: r.status, headers: Object.fromEntries(r.headers), body: Buffer.from(await r.arrayBuffer()) }
}

/** Answers after HOLD_MS, so that every request sent meanwhile finds the first in flight. */
function held (status: number, body: string | Buffer, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-upstream': 'yes', ...headers })
      res.end(body)
    }, HOLD_MS)
  }
}

function withoutId (h: Record<string, string>): Record<string, string> {
  const { 'x-request-id': _id, ...rest } = h
  return rest
}


describe('identical reads in flight share one upstream call', () => {
  let stack: (Stack & { api: Upstream }) | undefined
  afterEach(async () => {
    await stack?.close()
    stack = undefined
  })

  it('N concurrent identical GETs: one upstream call, N identical answers, each with its own X-Request-Id', async () => {
    stack = await startApiStack(held(200, '{"skillActivity":[{"skillId":1}]}'))
    const url = `${stack.url}${API}/skills/activity?fields=skillId`
    const answers = await Promise.all(Array.from({ length: N }, async (_, i) => await get(url, { headers: { 'x-request-id': `poll-${i}` } })))
    expect(stack.api.seen).toHaveLength(1)
    for (const [i, a] of answers.entries()) {
      expect(a.status).toBe(200)
      expect(a.headers['x-request-id']).toBe(`poll-${i}`)
      expect(a.body.toString()).toBe('{"skillActivity":[{"skillId":1}]}')
      expect(withoutId(a.headers)).toEqual(withoutId((answers[0] as Got).headers))
    }
    expect(answers[0]?.headers['x-upstream']).toBe('yes')
    await new Promise((resolve) => setTimeout(resolve, 20))
    const lines = stack.logs.entries.filter((e) => e.msg === 'request' && String(e.reqId).startsWith('poll-'))
    expect(lines).toHaveLength(N)
    expect(lines.filter((l) => l.quota === 'coalesced')).toHaveLength(N - 1)
    expect(lines.filter((l) => l.quota === undefined)).toHaveLength(1)
    expect(sample(await metricsText(stack.url), 'cxone_proxy_coalesced_total', { profile: 'default' })).toBe(N - 1)
  })

  it('never coalesces different queries, methods, Accept or Accept-Encoding', async () => {
    stack = await startApiStack(held(200, '{}'))
    const base = `${stack.url}${API}/skills/activity`
    await Promise.all([
      get(`${base}?top=1`),
      get(`${base}?top=2`),
      get(`${base}?top=1`, { method: 'HEAD' }),
      get(`${base}?top=1`, { headers: { accept: 'application/xml' } }),
      get(`${base}?top=1`, { headers: { 'accept-encoding': 'gzip' } }),
      get(`${base}?top=1`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }),
      get(`${base}?top=1`, { headers: { 'if-none-match': '"v1"' } })
    ])
    expect(stack.api.seen).toHaveLength(7)
  })

  // Each profile has its own Sharing (one forwarding plugin per listener): business-units.test.ts shows it.
  it('keys reads by upstream too', () => {
    const headers = { accept: 'application/json' }
    const key = shareKey('api', 'GET', '/x?a=1', headers)
    expect(shareKey('ui', 'GET', '/x?a=1', headers)).not.toBe(key)
    expect(shareKey('api', 'GET', '/x?a=1', { ...headers })).toBe(key)
  })

  it('PROXY_COALESCE=false: every caller makes its own call', async () => {
    stack = await startApiStack(held(200, '{}'), { PROXY_COALESCE: 'false' })
    await Promise.all(Array.from({ length: N }, async () => await get(`${stack?.url ?? ''}${API}/skills/activity`)))
    expect(stack.api.seen).toHaveLength(N)
  })

  it('a caller that aborts does not break the others; the call is cancelled when every caller has gone', async () => {
    let closedEarly = 0
    stack = await startApiStack((req, res) => {
      res.once('close', () => { if (!res.writableFinished) closedEarly++ })
      const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms'))
      setTimeout(() => { if (!res.destroyed) { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"done":true}') } }, ms)
    })
    const url = `${stack.url}${API}/agents/states?ms=400`
    const first = new AbortController()
    const leader = fetch(url, { signal: first.signal }).catch((err: Error) => err)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const others = Array.from({ length: 3 }, async () => await get(url))
    await new Promise((resolve) => setTimeout(resolve, 50))
    first.abort()
    expect(await leader).toBeInstanceOf(Error)
    for (const a of await Promise.all(others)) expect(a).toMatchObject({ status: 200, body: Buffer.from('{"done":true}') })
    expect(stack.api.seen).toHaveLength(1)
    expect(closedEarly).toBe(0)

    // Every caller gone: the upstream request is cancelled.
    const all = Array.from({ length: 3 }, () => new AbortController())
    const gone = all.map(async (c) => await fetch(`${stack?.url ?? ''}${API}/agents/states?ms=5000`, { signal: c.signal }).catch((err: Error) => err))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(stack.api.seen).toHaveLength(2)
    for (const c of all) c.abort()
    await Promise.all(gone)
    await expect.poll(() => closedEarly, { timeout: 2_000 }).toBe(1)
  })

  it('a leader that leaves while queued for the one place upstream: its followers are answered, and no place leaks', async () => {
    stack = await startApiStack((req, res) => {
      const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms'))
      setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ url: req.url })) }, ms)
    }, { PROXY_MAX_CONCURRENT_UPSTREAM: '1', PROXY_QUEUE_TIMEOUT_MS: '5000' })
    const base = `${stack.url}${API}/skills/activity`
    const blocker = get(`${base}?ms=300`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const first = new AbortController()
    const leader = fetch(`${base}?ms=10`, { signal: first.signal }).catch((err: Error) => err)
    await new Promise((resolve) => setTimeout(resolve, 30))
    const followers = Array.from({ length: 3 }, async () => await get(`${base}?ms=10`))
    await new Promise((resolve) => setTimeout(resolve, 30))
    first.abort()
    expect(await leader).toBeInstanceOf(Error)
    expect((await blocker).status).toBe(200)
    for (const f of await Promise.all(followers)) expect(JSON.parse(f.body.toString())).toEqual({ url: `${API}/skills/activity?ms=10` })
    expect(stack.api.seen.map((r) => r.url)).toEqual([`${API}/skills/activity?ms=300`, `${API}/skills/activity?ms=10`])
    for (let i = 0; i < 3; i++) expect((await get(`${base}?ms=1&n=${i}`)).status).toBe(200)
  })

  it('every caller of a flight queued for the one place upstream gone: the place is given back, nothing is sent', async () => {
    stack = await startApiStack((req, res) => {
      const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms'))
      setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ url: req.url })) }, ms)
    }, { PROXY_MAX_CONCURRENT_UPSTREAM: '1', PROXY_QUEUE_TIMEOUT_MS: '5000' })
    const base = `${stack.url}${API}/skills/activity`
    const blocker2 = get(`${base}?ms=300`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const all = Array.from({ length: 3 }, () => new AbortController())
    const gone = all.map(async (c) => await fetch(`${base}?ms=20`, { signal: c.signal }).catch((err: Error) => err))
    await new Promise((resolve) => setTimeout(resolve, 30))
    for (const c of all) c.abort()
    await Promise.all(gone)
    await blocker2
    for (let i = 0; i < 3; i++) expect((await get(`${base}?ms=1&n=${i}`)).status).toBe(200)
    expect(stack.api.seen.filter((r) => r.url.includes('ms=20'))).toEqual([])
  })

  it('HEAD requests coalesce among themselves', async () => {
    stack = await startApiStack(held(200, '{"a":1}'))
    const answers = await Promise.all(Array.from({ length: 4 }, async () => await get(`${stack?.url ?? ''}${API}/skills/activity`, { method: 'HEAD' })))
    for (const a of answers) expect([a.status, a.body.length]).toEqual([200, 0])
    expect(stack.api.seen).toHaveLength(1)
  })

  it('a failed upstream call gives every caller the same error', async () => {
    stack = await startApiStack((req) => { setTimeout(() => { req.socket.destroy() }, HOLD_MS) })
    const answers = await Promise.all(Array.from({ length: N }, async () => await get(`${stack?.url ?? ''}${API}/skills/activity`)))
    // One call, and the one retry a GET gets on a reset keep-alive socket.
    expect(stack.api.seen.length).toBeLessThanOrEqual(2)
    for (const a of answers) {
      expect(a.status).toBe(502)
      expect(a.headers['proxy-status']).toBe((answers[0] as Got).headers['proxy-status'])
      expect(JSON.parse(a.body.toString())).toEqual(JSON.parse((answers[0] as Got).body.toString()))
    }
    expect(JSON.parse((answers[0] as Got).body.toString()).error.code).toBe('destination_unavailable')
  })

  it('a 401 replay and its new token serve every caller', async () => {
    let stack2: Stack | undefined
    try {
      stack2 = await startStack()
      const s = stack2
      s.sim.revokeAll()
      const answers = await Promise.all(Array.from({ length: N }, async () => await get(`${s.url}${API}/skills/activity`)))
      for (const a of answers) expect(a.status).toBe(200)
      expect(s.sim.tokenRequests).toBe(2)
      expect(s.sim.unauthorizedApiCalls).toBe(1)
      expect(s.sim.apiRequests.filter((r) => r.url.includes('/skills/activity'))).toHaveLength(2)
    } finally {
      await stack2?.close()
    }
  })

  it('an answer too large to share: the first caller gets it streamed, the others make their own calls, all whole', async () => {
    const big = randomBytes(1024 * 1024 + 10)
    stack = await startApiStack(held(200, big, { 'content-type': 'application/octet-stream' }))
    const answers = await Promise.all(Array.from({ length: 4 }, async () => await get(`${stack?.url ?? ''}${API}/reports/big`)))
    for (const a of answers) {
      expect(a.status).toBe(200)
      expect(sha(a.body)).toBe(sha(big))
    }
    expect(stack.api.seen).toHaveLength(4)
  })

  it('a caller that leaves while an answer too large to share streams to it: the call upstream is cancelled', async () => {
    let closedEarly = 0
    stack = await startApiStack((_req, res) => {
      res.once('close', () => { if (!res.writableFinished) closedEarly++ })
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      res.write(randomBytes(1024 * 1024 + 10))
      setTimeout(() => { if (!res.destroyed) res.end('the rest') }, 10_000)
    })
    const gone = new AbortController()
    const r = await fetch(`${stack.url}${API}/reports/slow`, { signal: gone.signal })
    const reader = (r.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    gone.abort()
    await expect.poll(() => closedEarly, { timeout: 3_000 }).toBe(1)
  })

  it('an answer of unknown length that outgrows the bound reaches every caller whole', async () => {
    const big = randomBytes(1024 * 1024 + 10)
    stack = await startApiStack((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      res.write(big.subarray(0, 1000))
      setTimeout(() => { res.end(big.subarray(1000)) }, HOLD_MS)
    })
    const answers = await Promise.all(Array.from({ length: 3 }, async () => await get(`${stack?.url ?? ''}${API}/reports/chunked`)))
    for (const a of answers) expect(sha(a.body)).toBe(sha(big))
    expect(stack.api.seen).toHaveLength(3)
  })

  it('rewrites links for each caller to the origin it called', async () => {
    let upstream: Upstream | undefined
    upstream = await startUpstream((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ _links: { next: `${upstream?.url ?? ''}${API}/skills/activity?skip=10` } }))
      }, HOLD_MS)
    })
    const s = await startStack({ env: { CXONE_API_URL: upstream.url, PROXY_ALLOWED_HOSTS: 'proxy.test' } })
    try {
      const port = new URL(s.url).port
      const viaHost = async (host: string): Promise<string> => await new Promise((resolve, reject) => {
        const req = httpRequest(`${s.url}${API}/skills/activity`, { headers: { host } }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => { resolve(Buffer.concat(chunks).toString()) })
        })
        req.on('error', reject)
        req.end()
      })
      const [a, b] = await Promise.all([viaHost(`127.0.0.1:${port}`), viaHost(`proxy.test:${port}`)])
      expect(upstream.seen).toHaveLength(1)
      expect(JSON.parse(a ?? '')._links.next).toBe(`http://127.0.0.1:${port}${API}/skills/activity?skip=10`)
      expect(JSON.parse(b ?? '')._links.next).toBe(`http://proxy.test:${port}${API}/skills/activity?skip=10`)
    } finally {
      await s.close()
      await upstream.close()
      upstream = undefined
    }
  })
})
