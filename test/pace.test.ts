import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'
import { ManualClock } from './helpers/manual-clock.js'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const until = async (ready: () => boolean): Promise<void> => { while (!ready()) await sleep(5) }
const INTERVAL_MS = 400
/**
 * Starts are measured where they land, at the API, which runs in this process, on the proxy's clock: the test moves
 * it, so the lanes' intervals and waits pass only when it does. Without pacing the gaps are a few milliseconds.
 */
const JITTER_MS = 100
const clock = new ManualClock(Date.now())
/** Moves the clock by `ms` once `more` timers were set since `from` (the requests are queued in their lane). */
const advanceOnce = async (from: number, more: number, ms: number): Promise<void> => {
  await until(() => clock.pendingTimers >= from + more)
  await clock.advance(ms)
}

describe('pacing the routes NICE paces, against a loopback API', () => {
  let stack: Stack & { api: Upstream }
  let dir: string
  const arrivals: Array<{ path: string, tag: string, at: number }> = []
  const inFlight = new Map<string, number>()
  const mostInFlight = new Map<string, number>()

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pace-'))
    writeFileSync(join(dir, 'proxy.config.json'), JSON.stringify({
      pace: [
        { route: 'POST /data-extraction/*/jobs/**', maxConcurrent: 1, minIntervalMs: INTERVAL_MS },
        { route: 'POST /pair/**', maxConcurrent: 2, minIntervalMs: 0 },
        { route: 'POST /one/**', maxConcurrent: 1, minIntervalMs: 0 }
      ]
    }))
    stack = await startApiStack((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      const lane = url.pathname.split('/')[1] as string
      arrivals.push({ path: url.pathname, tag: url.searchParams.get('tag') ?? '', at: clock.monotonic() })
      inFlight.set(lane, (inFlight.get(lane) ?? 0) + 1)
      mostInFlight.set(lane, Math.max(mostInFlight.get(lane) ?? 0, inFlight.get(lane) as number))
      setTimeout(() => {
        inFlight.set(lane, (inFlight.get(lane) ?? 0) - 1)
        if (res.destroyed) return
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ tag: url.searchParams.get('tag') }))
      }, Number(url.searchParams.get('ms') ?? 0))
    }, { PROXY_CONFIG: join(dir, 'proxy.config.json'), PROXY_PACE_MAX_WAIT_MS: '1000' }, { clock })
    // A connection to the API is open before the intervals are measured at the API: they count from the proxy's send.
    expect((await fetch(`${stack.url}/data-extraction/v1/jobs?tag=warm`)).status).toBe(200)
  })
  afterAll(async () => {
    await stack.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const post = async (path: string, tag: string): Promise<Response> =>
    await fetch(`${stack.url}${path}${path.includes('?') ? '&' : '?'}tag=${tag}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'x-request-id': tag } })
  const starts = (tags: string[]): number[] => tags.map((tag) => (arrivals.find((a) => a.tag === tag) as { at: number }).at)

  it('starts job creations one at a time, in arrival order, minIntervalMs apart; job status is not paced', async () => {
    const creations: Array<Promise<Response>> = []
    const timers = clock.pendingTimers
    for (const tag of ['j1', 'j2', 'j3']) {
      creations.push(post(tag === 'j2' ? '/data-extraction/v1/jobs/sync' : '/data-extraction/v1/jobs', tag))
      await sleep(10)
    }
    const status = await fetch(`${stack.url}/data-extraction/v1/jobs/j1?tag=status`)
    expect(status.status).toBe(200)
    // j2 and j3 queued (a wait each, and the lane's wake-up): one interval lets j2 start, the next j3.
    await advanceOnce(timers, 3, INTERVAL_MS)
    await until(() => arrivals.some((a) => a.tag === 'j2'))
    await clock.advance(INTERVAL_MS)
    expect((await Promise.all(creations)).map((r) => r.status)).toEqual([200, 200, 200])
    const order = arrivals.filter((a) => a.path.startsWith('/data-extraction/') && a.tag !== 'warm').map((a) => a.tag)
    // The status GET went through while j2 and j3 were queued.
    expect(order).toEqual(['j1', 'status', 'j2', 'j3'])
    const [t1, t2, t3] = starts(['j1', 'j2', 'j3']) as [number, number, number]
    expect(t2 - t1).toBeGreaterThanOrEqual(INTERVAL_MS - JITTER_MS)
    expect(t3 - t2).toBeGreaterThanOrEqual(INTERVAL_MS - JITTER_MS)
    await sleep(20)
    expect(stack.logs.entries.filter((e) => e.msg === 'paced')).toMatchObject([
      { rule: 'POST /data-extraction/*/jobs/**', outcome: 'started', profile: 'default' },
      { rule: 'POST /data-extraction/*/jobs/**', outcome: 'started', profile: 'default' }
    ])
    expect(await stack.running.proxy.metrics.text()).toContain('cxone_proxy_pace_wait_seconds_count{profile="default",rule="POST /data-extraction/*/jobs/**",outcome="started"} 2')
  })

  it('holds no more than maxConcurrent in flight', async () => {
    const all = await Promise.all(['p1', 'p2', 'p3', 'p4', 'p5'].map(async (tag) => await post('/pair/x?ms=150', tag)))
    expect(all.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
    expect(mostInFlight.get('pair')).toBe(2)
  })

  it('answers 503 too_busy with Retry-After past PROXY_PACE_MAX_WAIT_MS', async () => {
    const first = post('/one/slow?ms=1500', 'o1')
    await sleep(20)
    const began = clock.monotonic()
    const timers = clock.pendingTimers
    const queued = post('/one/slow', 'o2')
    await advanceOnce(timers, 1, 1_000)
    const second = await queued
    const waited = clock.monotonic() - began
    expect(second.status).toBe(503)
    expect(second.headers.get('retry-after')).toBe('1')
    expect(second.headers.get('proxy-status')).toBe('cxone-auth-proxy; error=connection_limit_reached; details="too_busy"')
    expect(await second.json()).toMatchObject({ error: { code: 'too_busy', message: expect.stringContaining('PROXY_PACE_MAX_WAIT_MS=1000') } })
    // Node counts timers from the event loop's cached time: a few milliseconds early under load.
    expect(waited).toBeGreaterThanOrEqual(900)
    expect(waited).toBeLessThan(1_400)
    expect((await first).status).toBe(200)
    expect(arrivals.filter((a) => a.tag === 'o2')).toEqual([])
  })

  it('refuses at once when the intervals alone say a request could not start within the wait', async () => {
    await clock.advance(INTERVAL_MS)
    const timers = clock.pendingTimers
    const began = performance.now()
    const answers = ['e1', 'e2', 'e3', 'e4'].map((tag) => post('/data-extraction/v1/jobs', tag).then((r) => ({ r, ms: performance.now() - began })))
    const fourth = (await answers[3]) as { r: Response, ms: number }
    await advanceOnce(timers, 3, INTERVAL_MS)
    await until(() => arrivals.filter((a) => a.tag === 'e2').length > 0)
    await clock.advance(INTERVAL_MS)
    // Starts due at 0, 400 and 800 ms fit in the 1000 ms wait; the fourth (1200 ms) cannot.
    expect(fourth.r.status).toBe(503)
    expect(fourth.ms).toBeLessThan(200)
    expect(fourth.r.headers.get('retry-after')).toBe('2')
    expect((await Promise.all(answers.slice(0, 3))).map((a) => a.r.status)).toEqual([200, 200, 200])
  })

  it('a caller who leaves while queued frees its place', async () => {
    const first = post('/one/held?ms=300', 'l1')
    await sleep(20)
    // Its own connection, so hanging up leaves no pooled connection behind.
    const leaving = request(`${stack.url}/one/held?tag=l2`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } })
    const gone = new Promise((resolve) => { leaving.on('error', resolve) })
    leaving.end('{}')
    await sleep(20)
    const third = post('/one/held', 'l3')
    await sleep(20)
    leaving.destroy()
    expect(await gone).toBeInstanceOf(Error)
    expect((await first).status).toBe(200)
    expect((await third).status).toBe(200)
    expect(arrivals.filter((a) => a.path === '/one/held').map((a) => a.tag)).toEqual(['l1', 'l3'])
    await sleep(20)
    expect(stack.logs.entries.filter((e) => e.msg === 'paced' && e.outcome === 'left')).toHaveLength(1)
  })
})
