import { describe, expect, it } from 'vitest'
import { ProxyError } from '../src/core/errors.js'
import { SHIELD_MAX_SEC, Shield } from '../src/quota/shield.js'
import { ManualClock } from './helpers/manual-clock.js'

describe('the shield on a clock moved by hand', () => {
  function shield (): { s: Shield, advance: (ms: number) => Promise<void>, armed: unknown[] } {
    const clock = new ManualClock(Date.parse('Tue, 01 Dec 2026 19:00:00 GMT'))
    const armed: unknown[] = []
    const s = new Shield({ profile: 'bu1', maxWaitMs: 50, maxWaiting: 4, clock, onArmed: (e) => { armed.push(e) } })
    return { s, advance: async (ms) => { await clock.advance(ms) }, armed }
  }
  const refusal = (fn: () => unknown): ProxyError => {
    try {
      fn()
    } catch (err) {
      return err as ProxyError
    }
    throw new Error('not refused')
  }
  const SKILLS = '/inContactAPI/services/v31.0/skills/activity'

  it('answers with the time that remains, rounded up', async () => {
    const { s, advance } = shield()
    s.answered('api', SKILLS, 429, '10', undefined)
    expect(refusal(() => s.enter('api', SKILLS))).toMatchObject({ code: 'rate_limited', status: 429, retryAfterSec: 10 })
    await advance(3_500)
    expect(refusal(() => s.enter('api', SKILLS)).retryAfterSec).toBe(7)
    expect(s.enter('api', '/inContactAPI/services/v31.0/agents/states')).toBeUndefined()
    expect(s.enter('ui', SKILLS)).toBeUndefined()
  })

  it('caps a Retry-After beyond 10 minutes at 10 minutes, seconds or date alike', () => {
    const { s, armed } = shield()
    s.answered('api', SKILLS, 429, '86400', undefined)
    expect(refusal(() => s.enter('api', SKILLS)).retryAfterSec).toBe(SHIELD_MAX_SEC)
    s.answered('api', '/data-extraction/v1/jobs', 429, 'Wed, 02 Dec 2026 19:00:00 GMT', undefined)
    expect(refusal(() => s.enter('api', '/data-extraction/v1/jobs/sync')).retryAfterSec).toBe(600)
    expect(armed).toEqual([
      { profile: 'bu1', upstream: 'api', family: '/incontactapi/services/*/skills', retryAfterSec: 600, capped: true },
      { profile: 'bu1', upstream: 'api', family: '/data-extraction/*/jobs', retryAfterSec: 600, capped: true }
    ])
  })

  it('arms nothing for a 429 without Retry-After, nor for other statuses with one', () => {
    const { s } = shield()
    s.answered('api', SKILLS, 429, undefined, undefined)
    s.answered('api', SKILLS, 503, '30', undefined)
    expect(s.enter('api', SKILLS)).toBeUndefined()
  })

  it('once expired: one probe, the others wait; the probe\'s 429 arms it again and refuses them', async () => {
    const { s, advance } = shield()
    s.answered('api', SKILLS, 429, '2', undefined)
    await advance(2_000)
    const probe = s.enter('api', SKILLS)
    expect(probe?.wait).toBeUndefined()
    const waiter = s.enter('api', SKILLS)
    expect(waiter?.wait).toBeInstanceOf(Promise)
    s.answered('api', SKILLS, 429, '4', probe)
    await expect(waiter?.wait).rejects.toMatchObject({ code: 'rate_limited', retryAfterSec: 4 })
  })

  it('a probe that leaves hands over to the longest waiter', async () => {
    const { s, advance } = shield()
    s.answered('api', SKILLS, 429, '1', undefined)
    await advance(1_000)
    const probe = s.enter('api', SKILLS)
    const first = s.enter('api', SKILLS)
    const second = s.enter('api', SKILLS)
    s.leave(probe as NonNullable<typeof probe>)
    await first?.wait
    expect(first?.state).toBe('probe')
    s.answered('api', SKILLS, 200, undefined, first)
    await second?.wait
    expect(s.enter('api', SKILLS)).toBeUndefined()
  })

  it('a probe that leaves once the family is armed again hands over to nobody: its waiters get the shield\'s answer', async () => {
    const { s, advance } = shield()
    s.answered('api', SKILLS, 429, '1', undefined)
    await advance(1_000)
    const probe = s.enter('api', SKILLS)
    const waiter = s.enter('api', SKILLS)
    s.answered('api', '/inContactAPI/services/v31.0/skills/9', 429, '5', undefined)
    s.leave(probe as NonNullable<typeof probe>)
    await expect(waiter?.wait).rejects.toMatchObject({ code: 'rate_limited', retryAfterSec: 5 })
  })

  it('a waiter behind a probe waits at most maxWaitMs, then gets too_busy', async () => {
    const { s, advance } = shield()
    s.answered('api', SKILLS, 429, '1', undefined)
    await advance(1_000)
    s.enter('api', SKILLS)
    const waiter = s.enter('api', SKILLS)
    const began = performance.now()
    const moved = advance(50)
    await expect(waiter?.wait).rejects.toMatchObject({ code: 'too_busy', retryAfterSec: 1 })
    await moved
    // Node's timers count from the event loop's cached time, so the bound is checked from above only.
    expect(performance.now() - began).toBeLessThan(500)
  })
})
