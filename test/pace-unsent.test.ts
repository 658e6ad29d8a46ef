import { expect, it } from 'vitest'
import { Pacer } from '../src/quota/pace.js'
import { systemClock } from '../src/core/clock.js'
it('issue 13: a paced request refused before it was sent gives its interval back', () => {
  let now = 1000
  const p = new Pacer({ profile: 'default', rules: [{ route: 'POST /data-extraction/**', method: 'POST', pattern: '/data-extraction/**', maxConcurrent: 1, minIntervalMs: 30_000 }], maxWaitMs: 60_000, maxQueued: 10, clock: { ...systemClock, monotonic: () => now } })
  const a = p.enter('POST', '/data-extraction/v1/jobs') as NonNullable<ReturnType<Pacer['enter']>>
  // refused before it was sent (token_unavailable, gate too_busy, upstream_not_configured): its caller's response closes
  now += 10
  p.leave(a)
  const b = p.enter('POST', '/data-extraction/v1/jobs')
  if (b !== undefined) p.leave(b)
  expect(b?.wait).toBeUndefined()
})

it('issue 13: a paced request that was sent keeps its interval', () => {
  let now = 1000
  const p = new Pacer({ profile: 'default', rules: [{ route: 'POST /data-extraction/**', method: 'POST', pattern: '/data-extraction/**', maxConcurrent: 1, minIntervalMs: 30_000 }], maxWaitMs: 60_000, maxQueued: 10, clock: { ...systemClock, monotonic: () => now } })
  const a = p.enter('POST', '/data-extraction/v1/jobs') as NonNullable<ReturnType<Pacer['enter']>>
  p.sent(a)
  now += 10
  p.leave(a)
  const b = p.enter('POST', '/data-extraction/v1/jobs')
  expect(b?.wait).toBeDefined()
  if (b !== undefined) p.leave(b)
})
