import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Pacer } from '../src/quota/pace.js'
import { KEYS, startCallers, type CallerStack } from './helpers/callers.js'
import { ManualClock } from './helpers/manual-clock.js'
import type { Handler } from './helpers/upstream.js'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const until = async (ready: () => boolean): Promise<void> => { while (!ready()) await sleep(5) }
/** The default pace rule's interval: POST /data-extraction/*\/jobs/** one at a time, 30 s apart. */
const INTERVAL_MS = 30_000

/** issue 22: a pace lane's turns are shared fairly between named callers. */
describe('a pace lane between named callers, against a loopback API', () => {
  let s: CallerStack
  const clock = new ManualClock()
  const arrivals: string[] = []
  const handler: Handler = (req, res) => {
    arrivals.push(new URL(req.url ?? '/', 'http://x').searchParams.get('tag') ?? '')
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{}')
  }
  beforeAll(async () => {
    // Four job creations in one lane wait up to three intervals: the wait allowed is longer than that.
    s = await startCallers({ callers: { export: {}, agent: {} } }, { handler, env: { PROXY_PACE_MAX_WAIT_MS: '300000' }, deps: { clock } })
  })
  afterAll(async () => { await s.close() })

  const create = async (tag: string, key: string): Promise<Response> =>
    await fetch(`${s.url}/data-extraction/v1/jobs?tag=${tag}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'x-proxy-key': key } })

  it('the export job queues three job creations, then the agent one: the agent\'s goes out second, not fourth', async () => {
    expect((await create('x1', KEYS.export)).status).toBe(200)
    const responses = new Map<string, Promise<Response>>()
    const timers = clock.pendingTimers
    // Each queued request sets its wait's timer (the first also the lane's wake-up): they queue in this order.
    for (const [i, [tag, key]] of ([['x2', KEYS.export], ['x3', KEYS.export], ['a1', KEYS.agent]] as const).entries()) {
      responses.set(tag, create(tag, key))
      await until(() => clock.pendingTimers >= timers + i + 2)
    }
    for (let turn = 0; turn < 3; turn++) {
      await clock.advance(INTERVAL_MS)
      await until(() => arrivals.length === turn + 2)
      expect((await responses.get(arrivals[turn + 1] as string))?.status).toBe(200)
    }
    expect(arrivals).toEqual(['x1', 'a1', 'x2', 'x3'])
  })
})

describe('a pace lane\'s turns, at the Pacer', () => {
  it('without callers it is the FIFO it was: one owner, turns in arrival order', async () => {
    const clock = new ManualClock()
    const p = new Pacer({ profile: 'default', rules: [{ route: 'POST /data-extraction/*/jobs/**', method: 'POST', pattern: '/data-extraction/*/jobs/**', maxConcurrent: 1, minIntervalMs: INTERVAL_MS }], maxWaitMs: 300_000, maxQueued: 10, clock })
    const first = p.enter('POST', '/data-extraction/v1/jobs') as NonNullable<ReturnType<Pacer['enter']>>
    p.sent(first)
    const order: number[] = []
    const queued = [1, 2, 3].map((n) => {
      const t = p.enter('POST', '/data-extraction/v1/jobs') as NonNullable<ReturnType<Pacer['enter']>>
      void t.wait?.then(() => {
        order.push(n)
        p.sent(t)
        p.leave(t)
      })
      return t
    })
    p.leave(first)
    for (let i = 0; i < 3; i++) await clock.advance(INTERVAL_MS)
    expect(order).toEqual([1, 2, 3])
    expect(queued.map((t) => t.state)).toEqual(['done', 'done', 'done'])
  })

  it('between owners, the turn goes to the oldest waiter of the one served least recently', async () => {
    const clock = new ManualClock()
    const p = new Pacer({ profile: 'default', rules: [{ route: 'POST /data-extraction/*/jobs/**', method: 'POST', pattern: '/data-extraction/*/jobs/**', maxConcurrent: 1, minIntervalMs: INTERVAL_MS }], maxWaitMs: 300_000, maxQueued: 10, clock })
    const first = p.enter('POST', '/data-extraction/v1/jobs', 'd/export') as NonNullable<ReturnType<Pacer['enter']>>
    p.sent(first)
    const order: string[] = []
    for (const who of ['d/export#2', 'd/export#3', 'd/agent#1']) {
      const t = p.enter('POST', '/data-extraction/v1/jobs', who.split('#')[0]) as NonNullable<ReturnType<Pacer['enter']>>
      void t.wait?.then(() => {
        order.push(who)
        p.sent(t)
        p.leave(t)
      })
    }
    p.leave(first)
    for (let i = 0; i < 3; i++) await clock.advance(INTERVAL_MS)
    expect(order).toEqual(['d/agent#1', 'd/export#2', 'd/export#3'])
  })
})
