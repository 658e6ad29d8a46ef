import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { API, startStack, type Stack } from './helpers/harness.js'
import { startUpstream, type Handler, type Upstream } from './helpers/upstream.js'

// Issue 24 #4 (Vary, and what a TTL rule does with Cache-Control), #5 (Set-Cookie in a flight), and its smaller
// notes: a bogus upstream Age on a cache hit, and streams of events under coalescing.

const dir = mkdtempSync(join(tmpdir(), 'vary-test-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })
const ACTIVITY = `${API}/skills/activity`
const HOLD_MS = 300
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * Answers after `?hold` ms (default HOLD_MS) with the headers in `?h` (JSON), and a body naming its call and the
 * caller's Accept-Language.
 */
const api: Handler = (req, res, _body, n) => {
  const q = new URL(req.url ?? '/', 'http://x').searchParams
  const headers = JSON.parse(q.get('h') ?? '{}') as Record<string, string>
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers })
    res.end(JSON.stringify({ call: n, lang: req.headers['accept-language'] ?? null }))
  }, Number(q.get('hold') ?? HOLD_MS))
}

let stack: Stack | undefined
let upstream: Upstream | undefined
afterEach(async () => {
  await stack?.close()
  await upstream?.close()
  stack = undefined
  upstream = undefined
})

async function start (cache: unknown[] = [], handler: Handler = api): Promise<Stack> {
  upstream = await startUpstream(handler)
  const path = join(dir, `proxy-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(path, JSON.stringify({ cache }))
  stack = await startStack({ env: { CXONE_API_URL: upstream.url, PROXY_CONFIG: path } })
  return stack
}

interface Got { body: { call: number, lang: string | null }, headers: Headers }
async function get (s: Stack, path: string, headers: Record<string, string> = {}): Promise<Got> {
  const r = await fetch(`${s.url}${path}`, { headers })
  return { body: await r.json() as Got['body'], headers: r.headers }
}
const h = (headers: Record<string, string>): string => `h=${encodeURIComponent(JSON.stringify(headers))}`
const seen = (): number => upstream?.seen.length ?? 0
const afterFirstArrived = async <T>(first: Promise<T>, then: () => Promise<T>): Promise<T[]> => {
  while (seen() === 0) await sleep(5)
  return await Promise.all([first, then()])
}

describe('Vary: a shared answer reaches only callers whose Vary-named headers match (RFC 9111 §4.1)', () => {
  it('in flight: another Accept-Language makes its own call; the same one shares', async () => {
    const s = await start()
    const path = `${ACTIVITY}?${h({ vary: 'Accept-Language' })}`
    const first = get(s, path, { 'accept-language': 'en' })
    while (seen() === 0) await sleep(5)
    const [en, fr, en2] = await Promise.all([first, get(s, path, { 'accept-language': 'fr' }), get(s, path, { 'accept-language': 'en' })])
    expect([en?.body.lang, fr?.body.lang, en2?.body.lang]).toEqual(['en', 'fr', 'en'])
    expect(en2?.body.call).toBe(en?.body.call)
    expect(seen()).toBe(2)
  })

  it('in flight: Vary: * is shared with nobody', async () => {
    const s = await start()
    const path = `${ACTIVITY}?${h({ vary: '*' })}`
    const answers = await afterFirstArrived(get(s, path), async () => await get(s, path))
    expect(answers.map((a) => a.body.call).sort()).toEqual([1, 2])
  })

  it('in the cache: served only to the same Accept-Language; Vary: * is never stored', async () => {
    const s = await start([{ route: 'GET /inContactAPI/services/*/skills/**', ttlMs: 60_000 }])
    const path = `${ACTIVITY}?hold=0&${h({ vary: 'accept-language' })}`
    expect((await get(s, path, { 'accept-language': 'en' })).body).toEqual({ call: 1, lang: 'en' })
    expect((await get(s, path, { 'accept-language': 'en' })).headers.get('cache-status')).toMatch(/; hit/)
    expect((await get(s, path, { 'accept-language': 'fr' })).body).toEqual({ call: 2, lang: 'fr' })
    const star = `${ACTIVITY}?hold=0&${h({ vary: '*' })}`
    const first = await get(s, star)
    expect(first.headers.get('cache-status')).toBe('cxone-auth-proxy; fwd=miss')
    expect((await get(s, star)).body.call).toBe(first.body.call + 1)
  })
})

describe('a TTL rule and the API\'s Cache-Control', () => {
  const rule = { route: 'GET /inContactAPI/services/*/skills/**', ttlMs: 60_000 }
  const directives = ['private', 'no-cache', 'max-age=0', 'public, s-maxage=0', 'private="x-agent, x-team"', 'max-age=60, no-cache="set-cookie"']

  it('by default the rule wins: private, no-cache and max-age=0 answers are kept, and Cache-Status says so', async () => {
    const s = await start([rule])
    for (const cc of directives) {
      const path = `${ACTIVITY}?hold=0&${h({ 'cache-control': cc })}`
      const miss = await get(s, path)
      expect(miss.headers.get('cache-status')).toBe('cxone-auth-proxy; fwd=miss; stored; detail=ttl-rule-overrides-cache-control')
      const hit = await get(s, path)
      expect(hit.body.call).toBe(miss.body.call)
      expect(hit.headers.get('cache-status')).toMatch(/^cxone-auth-proxy; hit; ttl=\d+; detail=ttl-rule-overrides-cache-control$/)
    }
    // An answer without such a directive says nothing more.
    expect((await get(s, `${ACTIVITY}?hold=0&${h({ 'cache-control': 'max-age=5' })}`)).headers.get('cache-status')).toBe('cxone-auth-proxy; fwd=miss; stored')
  })

  it('"respectCacheControl": true stores none of them', async () => {
    const s = await start([{ ...rule, respectCacheControl: true }])
    for (const cc of directives) {
      const path = `${ACTIVITY}?hold=0&${h({ 'cache-control': cc })}`
      const first = await get(s, path)
      expect(first.headers.get('cache-status')).toBe('cxone-auth-proxy; fwd=miss')
      expect((await get(s, path)).body.call).toBe(first.body.call + 1)
    }
    expect((await get(s, `${ACTIVITY}?hold=0&${h({ 'cache-control': 'max-age=5' })}`)).headers.get('cache-status')).toBe('cxone-auth-proxy; fwd=miss; stored')
  })

  it('refuses a respectCacheControl that is not true or false, naming the field', () => {
    const path = join(dir, 'bad.json')
    writeFileSync(path, JSON.stringify({ cache: [{ ...rule, respectCacheControl: 'yes' }] }))
    expect(() => loadConfig({ env: { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 's', CXONE_GRANT_TYPE: 'client_credentials', PROXY_CONFIG: path } }))
      .toThrow('"cache"[0].respectCacheControl = "yes" is not valid: use true')
  })
})

describe('Set-Cookie in a flight', () => {
  it('goes only to the caller whose request was sent; the others share the rest of the answer', async () => {
    const s = await start()
    const path = `${ACTIVITY}?${h({ 'set-cookie': 'SESSION=leader-only; Path=/' })}`
    const [first, second] = await afterFirstArrived(get(s, path), async () => await get(s, path))
    expect(seen()).toBe(1)
    expect(first?.headers.get('set-cookie')).toBe('SESSION=leader-only; Path=/')
    expect(second?.headers.get('set-cookie')).toBeNull()
    expect(second?.body).toEqual(first?.body)
  })
})

describe('a cache hit and a bogus upstream Age', () => {
  it.each([['-5', '0'], ['1e20', '0'], ['soon', '0'], ['99999999999999999999', '2147483648'], ['7', '7']])('Age: %s is passed on as %s', async (age, expected) => {
    const s = await start([{ route: 'GET /inContactAPI/services/*/skills/**', ttlMs: 60_000 }])
    const path = `${ACTIVITY}?hold=0&${h({ age })}`
    await get(s, path)
    expect((await get(s, path)).headers.get('age')).toBe(expected)
  })
})

describe('streams of events under coalescing', () => {
  /** An event at once, the end of the stream after 1.5 s. */
  const events: Handler = (_req, res, _body, n) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.write(`data: call ${n}\n\n`)
    setTimeout(() => { res.end('data: end\n\n') }, 1500)
  }

  it.each([[{}], [{ accept: 'text/event-stream' }]])('a lone caller gets its headers and first event at once, and a second caller gets a stream of its own (%j)', async (headers) => {
    const s = await start([], events)
    const started = Date.now()
    const first = await fetch(`${s.url}${API}/events/stream`, { headers })
    const reader = (first.body as ReadableStream<Uint8Array>).getReader()
    const firstEvent = Buffer.from((await reader.read()).value ?? []).toString()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(firstEvent).toBe('data: call 1\n\n')
    const second = await fetch(`${s.url}${API}/events/stream`, { headers })
    expect(await second.text()).toBe('data: call 2\n\ndata: end\n\n')
    await reader.cancel()
    expect(seen()).toBe(2)
  })
})
