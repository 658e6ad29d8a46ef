import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API } from './helpers/harness.js'
import { KEYS, requestLines, startCallers, type CallerStack } from './helpers/callers.js'
import { ManualClock } from './helpers/manual-clock.js'
import type { Handler } from './helpers/upstream.js'

const ACTIVITY = `${API}/skills/activity`
const HELD = `${API}/agents/states?held`

let release: () => void = () => {}
const handler: Handler = (req, res, _body, n) => {
  const answer = (): void => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ call: n })) }
  if (req.url?.includes('held') === true) release = answer
  else answer()
}

const get = async (s: CallerStack, path: string, key: string): Promise<Response> => await fetch(`${s.url}${path}`, { headers: { 'x-proxy-key': key } })

describe('a caller\'s fair share: only calls that reach CXone count, and its limit is its own', () => {
  let s: CallerStack
  const clock = new ManualClock()
  beforeAll(async () => {
    s = await startCallers({
      cache: [{ route: `GET ${ACTIVITY}`, ttlMs: 600_000 }],
      callers: { wallboard: { rate: { perSecond: 0.5, burst: 2 } }, agent: {}, export: { maxConcurrent: 1 } }
    }, { handler, deps: { clock } })
  })
  afterAll(async () => { await s.close() })

  it('over its rate a caller gets 429 caller_rate_limited with Retry-After from its own bucket; another caller goes through', async () => {
    for (const n of [1, 2]) expect((await get(s, `${API}/teams?n=${n}`, KEYS.wallboard)).status).toBe(200)
    const seen = s.api.seen.length
    const over = await get(s, `${API}/teams?n=3`, KEYS.wallboard)
    expect(over.status).toBe(429)
    expect(over.headers.get('retry-after')).toBe('2')
    expect(over.headers.get('proxy-status')).toBe('cxone-auth-proxy; error=http_request_denied; details="caller_rate_limited"')
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('caller_rate_limited')
    expect(s.api.seen.length).toBe(seen)
    // Another caller is neither refused nor delayed, and no shield was armed for the family.
    expect((await get(s, `${API}/teams?n=3`, KEYS.agent)).status).toBe(200)
    await clock.advance(1_000)
    expect((await get(s, `${API}/teams?n=4`, KEYS.wallboard)).headers.get('retry-after')).toBe('1')
    await clock.advance(1_000)
    expect((await get(s, `${API}/teams?n=4`, KEYS.wallboard)).status).toBe(200)
    expect(requestLines(s).filter((l) => l.caller === 'wallboard').map((l) => l.status)).toEqual([200, 200, 429, 429, 200])
  })

  it('a micro-cache hit costs its caller nothing: served with an empty bucket', async () => {
    expect((await get(s, ACTIVITY, KEYS.agent)).status).toBe(200)
    expect((await get(s, `${API}/teams?n=5`, KEYS.wallboard)).status).toBe(429)
    const hit = await get(s, ACTIVITY, KEYS.wallboard)
    expect(hit.status).toBe(200)
    expect(hit.headers.get('cache-status')).toMatch(/hit/)
  })

  it('maxConcurrent counts its calls in flight; joining one in flight counts for nothing', async () => {
    const led = get(s, HELD, KEYS.export)
    await expect.poll(() => s.api.seen.some((r) => r.url.includes('held'))).toBe(true)
    const joined = get(s, HELD, KEYS.export)
    const other = await get(s, `${API}/teams?n=6`, KEYS.export)
    expect(other.status).toBe(429)
    expect(other.headers.get('retry-after')).toBe('1')
    release()
    const [a, b] = await Promise.all([led, joined])
    expect([a.status, b.status]).toEqual([200, 200])
    expect(await a.json()).toEqual(await b.json())
    // Its place is given back with the call.
    await expect.poll(async () => (await get(s, `${API}/teams?n=7`, KEYS.export)).status).toBe(200)
  })
})
