import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import type { Clock } from '../src/token/token-provider.js'
import { API, simulatorEnv, startStack, type Stack } from './helpers/harness.js'
import { startUpstream, type Handler, type Upstream } from './helpers/upstream.js'
import { metricsText, sample } from './helpers/metrics.js'

/** Real timers (the token layer's), and a time the test moves forward by hand for the cache's TTLs. */
class ShiftedClock implements Clock {
  offset = 0
  now = (): number => Date.now() + this.offset
  monotonic = (): number => performance.now() + this.offset
  setTimeout = (fn: () => void, ms: number): unknown => setTimeout(fn, ms).unref()
  clearTimeout = (handle: unknown): void => { clearTimeout(handle as NodeJS.Timeout) }
}

const ACTIVITY = `${API}/skills/activity`
const dir = mkdtempSync(join(tmpdir(), 'cache-test-'))

function configFile (content: unknown): string {
  const path = join(dir, `proxy-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(path, JSON.stringify(content))
  return path
}

/** Answers with a body naming how many calls it has seen, and the headers the test asks for in `h`. */
const numbered: Handler = (req, res, _body, n) => {
  const headers = JSON.parse(new URL(req.url ?? '/', 'http://x').searchParams.get('h') ?? '{}') as Record<string, string>
  const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200)
  const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? 0)
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify({ call: n, pad: 'x'.repeat(size) }))
}


describe('the micro-cache', () => {
  let stack: Stack | undefined
  let api: Upstream | undefined
  const clock = new ShiftedClock()
  afterEach(async () => {
    await stack?.close()
    await api?.close()
    stack = undefined
    api = undefined
    clock.offset = 0
  })
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  async function start (cache: unknown, env: Record<string, string> = {}): Promise<Stack> {
    api = await startUpstream(numbered)
    stack = await startStack({ env: { CXONE_API_URL: api.url, PROXY_CONFIG: configFile({ cache }), ...env }, deps: { clock } })
    return stack
  }

  const call = async (s: Stack, path: string): Promise<{ status: number, body: { call: number }, age: string | null, cacheStatus: string | null, id: string | null }> => {
    const r = await fetch(`${s.url}${path}`)
    return { status: r.status, body: await r.json() as { call: number }, age: r.headers.get('age'), cacheStatus: r.headers.get('cache-status'), id: r.headers.get('x-request-id') }
  }

  it('serves a 200 from the cache within its TTL (Age, Cache-Status hit), then forwards again once it expires', async () => {
    const s = await start([{ route: 'GET /inContactAPI/services/*/skills/activity', ttlMs: 1000 }])
    const miss = await call(s, ACTIVITY)
    expect(miss).toMatchObject({ status: 200, body: { call: 1 }, age: null, cacheStatus: 'cxone-auth-proxy; fwd=miss; stored' })
    clock.offset = 400
    const hit = await call(s, ACTIVITY)
    expect(hit).toMatchObject({ status: 200, body: { call: 1 }, age: '0', cacheStatus: 'cxone-auth-proxy; hit; ttl=0' })
    expect(hit.id).not.toBe(miss.id)
    expect(api?.seen).toHaveLength(1)
    clock.offset = 1001
    expect(await call(s, ACTIVITY)).toMatchObject({ body: { call: 2 }, cacheStatus: 'cxone-auth-proxy; fwd=miss; stored' })
    expect(api?.seen).toHaveLength(2)
    expect(sample(await metricsText(s.url), 'cxone_proxy_cache_requests_total', { profile: 'default', result: 'hit' })).toBe(1)
    expect(sample(await metricsText(s.url), 'cxone_proxy_cache_requests_total', { profile: 'default', result: 'miss' })).toBe(2)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(s.logs.entries.find((e) => e.reqId === hit.id)).toMatchObject({ msg: 'request', status: 200, quota: 'cache' })
  })

  it('adds its own age to an Age the API sent, and gives a longer TTL in whole seconds', async () => {
    const s = await start([{ route: 'GET /inContactAPI/services/*/skills/**', ttlMs: 10_000 }])
    const path = `${ACTIVITY}?h=${encodeURIComponent('{"age":"3"}')}`
    await call(s, path)
    clock.offset = 2500
    expect(await call(s, path)).toMatchObject({ body: { call: 1 }, age: '5', cacheStatus: 'cxone-auth-proxy; hit; ttl=7' })
  })

  it('never caches Cache-Control: no-store, Set-Cookie or an answer other than 200', async () => {
    const s = await start([{ route: 'GET /inContactAPI/services/*/skills/activity', ttlMs: 60_000 }])
    for (const query of [`h=${encodeURIComponent('{"cache-control":"max-age=60, no-store"}')}`, `h=${encodeURIComponent('{"set-cookie":"a=1"}')}`, 'status=404', 'status=203']) {
      const first = await call(s, `${ACTIVITY}?${query}`)
      expect(first.cacheStatus).toBe('cxone-auth-proxy; fwd=miss')
      const second = await call(s, `${ACTIVITY}?${query}`)
      expect(second.body.call).toBe(first.body.call + 1)
      expect(second.cacheStatus).toBe('cxone-auth-proxy; fwd=miss')
    }
    expect(api?.seen).toHaveLength(8)
  })

  it('leaves routes without a rule alone: no Cache-Status, every call forwarded', async () => {
    const s = await start([{ route: 'GET /inContactAPI/services/*/skills/activity', ttlMs: 60_000 }])
    const a = await call(s, `${API}/agents/states`)
    const b = await call(s, `${API}/agents/states`)
    expect([a.cacheStatus, b.cacheStatus, b.body.call]).toEqual([null, null, 2])
  })

  it('keeps within PROXY_CACHE_MAX_BYTES: the least recently used entries are evicted and counted', async () => {
    const s = await start([{ route: 'GET /inContactAPI/services/*/skills/activity', ttlMs: 60_000 }], { PROXY_CACHE_MAX_BYTES: '5000' })
    for (let i = 0; i < 5; i++) await call(s, `${ACTIVITY}?size=1000&n=${i}`)
    const bytes = sample(await metricsText(s.url), 'cxone_proxy_cache_bytes')
    expect(bytes).toBeGreaterThan(0)
    expect(bytes).toBeLessThanOrEqual(5000)
    expect(sample(await metricsText(s.url), 'cxone_proxy_cache_evictions_total', { profile: 'default' })).toBeGreaterThanOrEqual(1)
    // The newest is still there; the oldest went.
    expect((await call(s, `${ACTIVITY}?size=1000&n=4`)).cacheStatus).toMatch(/; hit/)
    expect((await call(s, `${ACTIVITY}?size=1000&n=0`)).cacheStatus).toMatch(/fwd=miss/)
    // An answer larger than the whole cache is forwarded, never stored.
    expect((await call(s, `${ACTIVITY}?size=6000`)).cacheStatus).toBe('cxone-auth-proxy; fwd=miss')
  })

  it('with coalescing: concurrent first reads make one call, the others are told they were collapsed', async () => {
    api = await startUpstream((_req, res, _body, n) => {
      setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ call: n })) }, 200)
    })
    const s = stack = await startStack({ env: { CXONE_API_URL: api.url, PROXY_CONFIG: configFile({ cache: [{ route: 'GET /inContactAPI/services/*/skills/activity', ttlMs: 60_000 }] }) }, deps: { clock } })
    const first = await Promise.all(Array.from({ length: 5 }, async () => await call(s, ACTIVITY)))
    expect(first.map((a) => a.cacheStatus).sort()).toEqual([
      'cxone-auth-proxy; fwd=miss; stored',
      ...Array.from({ length: 4 }, () => 'cxone-auth-proxy; fwd=miss; stored; collapsed')
    ])
    expect(await call(s, ACTIVITY)).toMatchObject({ body: { call: 1 }, cacheStatus: 'cxone-auth-proxy; hit; ttl=59' })
    expect(api.seen).toHaveLength(1)
  })

  it('a token of another tenant never gets the first tenant\'s cached answer', async () => {
    const s = await start([{ route: 'GET /inContactAPI/services/*/skills/activity', ttlMs: 60_000 }])
    const first = s.running.proxy.provider.current()?.tenantId
    expect((await call(s, ACTIVITY)).body.call).toBe(1)
    expect((await call(s, ACTIVITY)).cacheStatus).toMatch(/; hit/)
    const other = await new CxoneSimulator({ tenantId: '11111111-2222-3333-4444-555555555555' }).start()
    try {
      // The same proxy, its credential now from another tenant (a reload with another issuer), the same API.
      const next = loadConfig({ env: simulatorEnv(other, { CXONE_API_URL: api?.url ?? '', PROXY_CONFIG: s.config.configPath ?? '' }), skipDefaultFile: true })
      s.running.proxy.reload(next)
      await expect.poll(() => s.running.proxy.provider.current()?.tenantId, { timeout: 5_000 }).toBe('11111111-2222-3333-4444-555555555555')
      expect(first).not.toBe('11111111-2222-3333-4444-555555555555')
      expect(await call(s, ACTIVITY)).toMatchObject({ body: { call: 2 }, cacheStatus: 'cxone-auth-proxy; fwd=miss; stored' })
    } finally {
      await other.stop()
    }
  })

  it('with coalescing off, still stores and serves (a flight of one)', async () => {
    const s = await start([{ route: 'GET /inContactAPI/services/*/skills/activity', ttlMs: 60_000 }], { PROXY_COALESCE: 'false' })
    await call(s, ACTIVITY)
    expect(await call(s, ACTIVITY)).toMatchObject({ body: { call: 1 }, cacheStatus: 'cxone-auth-proxy; hit; ttl=59' })
  })
})

describe('"cache" in the config file', () => {
  let d: string
  beforeAll(() => { d = mkdtempSync(join(tmpdir(), 'cache-config-')) })
  afterAll(() => { rmSync(d, { recursive: true, force: true }) })

  const problem = (cache: unknown): string => {
    const path = join(d, 'proxy.config.json')
    writeFileSync(path, JSON.stringify({ cache }))
    try {
      loadConfig({ env: { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 's', CXONE_GRANT_TYPE: 'client_credentials', PROXY_CONFIG: path } })
      return ''
    } catch (err) {
      return (err as Error).message.replace(path, 'proxy.config.json')
    }
  }

  it.each([
    [{ route: 'GET /x' }, 'proxy.config.json: "cache"[0].ttlMs = undefined is not valid: use a whole number of milliseconds from 1 to 600000'],
    [{ route: 'GET /x', ttlMs: 0.5 }, 'proxy.config.json: "cache"[0].ttlMs = 0.5 is not valid: use a whole number of milliseconds from 1 to 600000'],
    [{ route: 'POST /x', ttlMs: 1000 }, 'proxy.config.json: "cache"[0].route = "POST /x" is not valid: write "GET /path/pattern" (or HEAD; only reads are cached), e.g. "GET /inContactAPI/services/*/skills/activity"'],
    [{ route: 'GET /x', ttlMs: 1000, ttl: 5 }, 'proxy.config.json: "cache"[0] has unknown field "ttl": a cache rule has only "route", "ttlMs" and "respectCacheControl"'],
    ['GET /x', 'proxy.config.json: "cache"[0] must be an object like { "route": "GET /inContactAPI/services/*/skills/activity", "ttlMs": 1000 }']
  ])('refuses %j', (rule, message) => {
    expect(problem([rule])).toBe(message)
  })

  it('refuses a value that is not a list, and takes a valid one', () => {
    expect(problem({ route: 'GET /x', ttlMs: 1 })).toBe('proxy.config.json: "cache" must be a list like [{ "route": "GET /inContactAPI/services/*/skills/activity", "ttlMs": 1000 }]')
    expect(problem([{ route: 'GET /inContactAPI/services/*/skills/activity', ttlMs: 1000 }])).toBe('')
  })
})
