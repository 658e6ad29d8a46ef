import type { ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'
import { ManualClock } from './helpers/manual-clock.js'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** The proxy's clock: the shield's Retry-After windows pass when the test moves it, not on the wall clock. */
const clock = new ManualClock(Date.now())

/** What the API answers next, per family word in the path: a status, a Retry-After, a hold. */
interface Plan { status: number, retryAfter?: string, holdMs?: number, answeredAt?: number }

describe('the 429 shield, against a loopback API', () => {
  let stack: Stack & { api: Upstream }
  const plans = new Map<string, Plan[]>()
  const arrivals: Array<{ path: string, at: number }> = []

  beforeAll(async () => {
    stack = await startApiStack((req, res) => {
      const path = (req.url ?? '').split('?', 1)[0] as string
      arrivals.push({ path, at: performance.now() })
      const family = path.split('/')[4] ?? ''
      const plan = plans.get(family)?.shift() ?? { status: 200 }
      const send = (r: ServerResponse): void => {
        plan.answeredAt = performance.now()
        r.writeHead(plan.status, { 'content-type': 'application/json', ...(plan.retryAfter === undefined ? {} : { 'retry-after': plan.retryAfter }) })
        r.end(JSON.stringify({ from: 'api', status: plan.status }))
      }
      if (plan.holdMs === undefined) send(res)
      else setTimeout(() => { if (!res.destroyed) send(res) }, plan.holdMs)
    }, { PROXY_PACE_MAX_WAIT_MS: '3000' }, { clock })
  })
  afterAll(async () => { await stack.close() })

  const seen = (word: string): number => arrivals.filter((a) => a.path.split('/')[4] === word).length
  const shieldLines = (): Array<Record<string, unknown>> => stack.logs.entries.filter((e) => e.msg === 'request' && e.quota === 'shielded')

  it('arms on a 429 with Retry-After: the family is answered by the proxy with the remaining time, others pass', async () => {
    plans.set('skills', [{ status: 429, retryAfter: '2' }])
    const first = await fetch(`${stack.url}${API}/skills/activity`)
    expect(first.status).toBe(429)
    expect(first.headers.get('retry-after')).toBe('2')
    expect(first.headers.get('proxy-status')).toBeNull()
    expect(await first.json()).toEqual({ from: 'api', status: 429 })

    const shielded = await fetch(`${stack.url}/InContactAPI/services/v25.0/Skills/1234/activity`, { headers: { 'x-request-id': 'shielded-1' } })
    expect(shielded.status).toBe(429)
    expect(shielded.headers.get('retry-after')).toBe('2')
    expect(shielded.headers.get('proxy-status')).toBe('cxone-auth-proxy; error=proxy_internal_response; details="rate_limited"')
    expect(await shielded.json()).toEqual({ error: { code: 'rate_limited', message: 'CXone answered 429 Too Many Requests for /incontactapi/services/*/skills (upstream api); the proxy answers these calls itself for 2 s more: retry after Retry-After' } })
    expect(seen('skills')).toBe(1)

    expect((await fetch(`${stack.url}${API}/agents/states`)).status).toBe(200)

    await clock.advance(1_100)
    const later = await fetch(`${stack.url}${API}/skills/activity`)
    expect(later.status).toBe(429)
    expect(later.headers.get('retry-after')).toBe('1')
    expect(seen('skills')).toBe(1)

    await sleep(20)
    expect(shieldLines().filter((e) => e.reqId === 'shielded-1')).toMatchObject([{ status: 429, quota: 'shielded', profile: 'default' }])
    const metrics = await stack.running.proxy.metrics.text()
    expect(metrics).toContain('cxone_proxy_shield_armed_total{profile="default",upstream="api"} 1')
    expect(metrics).toContain('cxone_proxy_rejected_total{profile="default",reason="rate_limited"} 2')
    expect(stack.logs.entries.filter((e) => e.family === '/incontactapi/services/*/skills')).toMatchObject([{ level: 40, retryAfterSec: 2, capped: false }])
  })

  it('after the time has passed, lets one probe through and the others follow its answer', async () => {
    const held: Plan = { status: 200, holdMs: 300 }
    plans.set('contacts', [{ status: 429, retryAfter: '1' }, held])
    expect((await fetch(`${stack.url}${API}/contacts/active`)).status).toBe(429)
    await clock.advance(1_050)
    const burst = await Promise.all([1, 2, 3].map(async (n) => await fetch(`${stack.url}${API}/contacts/active?n=${n}`)))
    expect(burst.map((r) => r.status)).toEqual([200, 200, 200])
    const contacts = arrivals.filter((a) => a.path.endsWith('/contacts/active'))
    expect(contacts).toHaveLength(4)
    // The probe was answered (held 300 ms) before either follower reached the API.
    expect((contacts[2] as { at: number }).at).toBeGreaterThanOrEqual(held.answeredAt as number)
    expect((contacts[3] as { at: number }).at).toBeGreaterThanOrEqual(held.answeredAt as number)
  })

  it('a probe answered 429 again arms the shield again, and its waiters get the shield\'s answer', async () => {
    plans.set('teams', [{ status: 429, retryAfter: '1' }, { status: 429, retryAfter: '3', holdMs: 200 }])
    expect((await fetch(`${stack.url}${API}/teams`)).status).toBe(429)
    await clock.advance(1_050)
    const [probe, waiter] = await Promise.all([fetch(`${stack.url}${API}/teams`), sleep(50).then(async () => await fetch(`${stack.url}${API}/teams/7`))])
    expect(probe.status).toBe(429)
    expect(await probe.json()).toEqual({ from: 'api', status: 429 })
    expect(waiter.status).toBe(429)
    expect(waiter.headers.get('retry-after')).toBe('3')
    expect(await waiter.json()).toMatchObject({ error: { code: 'rate_limited' } })
    expect(seen('teams')).toBe(2)
  })

  it('when the probe\'s caller hangs up, the next waiter probes', async () => {
    plans.set('users', [{ status: 429, retryAfter: '1' }, { status: 200, holdMs: 1_000 }, { status: 200 }])
    expect((await fetch(`${stack.url}${API}/users`)).status).toBe(429)
    await clock.advance(1_050)
    const gone = new AbortController()
    const probe = fetch(`${stack.url}${API}/users?n=probe`, { signal: gone.signal }).catch((err: unknown) => err)
    await sleep(50)
    const waiter = fetch(`${stack.url}${API}/users?n=waiter`)
    await sleep(100)
    expect(seen('users')).toBe(2)
    gone.abort()
    const answer = await waiter
    expect(answer.status).toBe(200)
    expect(seen('users')).toBe(3)
    expect(await probe).toBeInstanceOf(Error)
  })

  it('a 429 without Retry-After passes through and arms nothing', async () => {
    plans.set('campaigns', [{ status: 429 }])
    const limited = await fetch(`${stack.url}${API}/campaigns`)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBeNull()
    expect((await fetch(`${stack.url}${API}/campaigns`)).status).toBe(200)
    expect(seen('campaigns')).toBe(2)
  })
})
