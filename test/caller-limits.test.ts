import { describe, expect, it } from 'vitest'
import { readCallers, type Caller } from '../src/core/callers.js'
import { ConfigError } from '../src/core/errors.js'
import { CallerLimits, type LimitDecision } from '../src/quota/caller-limits.js'
import { ManualClock } from './helpers/manual-clock.js'

/** Issue 22: each caller's share of the quota, a token bucket and a count in flight, on the manual clock. */

function callers (raw: Record<string, unknown>, callersEnforce = true): Map<string, Caller> {
  const env = Object.fromEntries(Object.keys(raw).map((n) => [`PROXY_CALLER_${n.toUpperCase()}_KEY`, `${n}-key-0123456789abcdef`]))
  const problems: ConfigError[] = []
  const set = readCallers({ profile: 'default', raw, where: 'x', readOnly: false, routes: [], callersEnforce, callerKeysDir: undefined, apiKeys: [], apiKeysVar: 'PROXY_API_KEYS', env }, problems)
  expect(problems).toEqual([])
  return new Map(set?.callers.map((c) => [c.name, c]))
}
function get (m: Map<string, Caller>, name: string): Caller {
  return m.get(name) as Caller
}
function outcome (d: LimitDecision): string {
  if (!d.ok) return `refused ${d.error.status} ${d.error.code} retry ${String(d.error.retryAfterSec)}`
  return d.wouldRefuse === undefined ? 'ok' : `would refuse, retry ${String(d.wouldRefuse.retryAfterSec)}`
}

describe('a caller\'s rate', () => {
  it('lets its burst through, then refuses with a Retry-After from its own bucket, and refills with time', async () => {
    const clock = new ManualClock()
    const limits = new CallerLimits(clock)
    const c = get(callers({ wallboard: { rate: { perSecond: 0.5, burst: 3 } } }), 'wallboard')
    expect([1, 2, 3].map(() => outcome(limits.take(c)))).toEqual(['ok', 'ok', 'ok'])
    // Empty: one whole call again in 2 s (0.5 a second).
    expect(outcome(limits.take(c))).toBe('refused 429 caller_rate_limited retry 2')
    await clock.advance(1000)
    expect(outcome(limits.take(c))).toBe('refused 429 caller_rate_limited retry 1')
    await clock.advance(1000)
    expect(outcome(limits.take(c))).toBe('ok')
    expect(outcome(limits.take(c))).toBe('refused 429 caller_rate_limited retry 2')
    await clock.advance(60_000)
    // Refilled to its burst, never beyond.
    expect([1, 2, 3, 4].map(() => outcome(limits.take(c)))).toEqual(['ok', 'ok', 'ok', 'refused 429 caller_rate_limited retry 2'])
  })

  it('names the caller and its setting in the refusal', () => {
    const limits = new CallerLimits(new ManualClock())
    const c = get(callers({ job: { rate: { perSecond: 2, burst: 1 } } }), 'job')
    limits.take(c)
    const d = limits.take(c)
    expect(d.ok ? undefined : d.error.message).toBe('caller "job" used its share, callers.job.rate (2 calls a second, burst 1): the proxy did not send this call to CXone; retry after 1 s')
  })

  it('never touches another caller\'s share', () => {
    const limits = new CallerLimits(new ManualClock())
    const m = callers({ job: { rate: { perSecond: 1, burst: 1 } }, wallboard: { rate: { perSecond: 1, burst: 2 } }, free: {} })
    expect(outcome(limits.take(get(m, 'job')))).toBe('ok')
    expect(outcome(limits.take(get(m, 'job')))).toBe('refused 429 caller_rate_limited retry 1')
    expect([outcome(limits.take(get(m, 'wallboard'))), outcome(limits.take(get(m, 'wallboard')))]).toEqual(['ok', 'ok'])
    for (let i = 0; i < 100; i++) expect(outcome(limits.take(get(m, 'free')))).toBe('ok')
  })
})

describe('a caller\'s maxConcurrent', () => {
  it('counts its calls in flight until each is released (once)', () => {
    const limits = new CallerLimits(new ManualClock())
    const c = get(callers({ job: { maxConcurrent: 2 } }), 'job')
    const a = limits.take(c)
    const b = limits.take(c)
    const refused = limits.take(c)
    expect(outcome(refused)).toBe('refused 429 caller_rate_limited retry 1')
    expect(refused.ok ? '' : refused.error.message).toBe('caller "job" has 2 calls in flight to CXone, its callers.job.maxConcurrent: the proxy did not send this one; retry after Retry-After')
    if (a.ok) { a.ticket.release(); a.ticket.release() }
    expect(limits.view(c).inFlight).toBe(1)
    expect(outcome(limits.take(c))).toBe('ok')
    expect(outcome(limits.take(c))).toBe('refused 429 caller_rate_limited retry 1')
    if (b.ok) b.ticket.release()
    expect(limits.view(c).inFlight).toBe(1)
  })
})

describe('shadow mode', () => {
  it('refuses nothing, says what it would refuse, and consumes only what enforcing would have', async () => {
    const clock = new ManualClock()
    const limits = new CallerLimits(clock)
    const c = get(callers({ trial: { rate: { perSecond: 1, burst: 2 }, maxConcurrent: 5, enforce: false } }), 'trial')
    expect([1, 2, 3, 4].map(() => outcome(limits.take(c)))).toEqual(['ok', 'ok', 'would refuse, retry 1', 'would refuse, retry 1'])
    expect(limits.view(c)).toEqual({ inFlight: 2, tokens: 0 })
    await clock.advance(1000)
    expect(outcome(limits.take(c))).toBe('ok')
  })

  it('for all callers with PROXY_CALLERS_ENFORCE=false', () => {
    const limits = new CallerLimits(new ManualClock())
    const c = get(callers({ job: { maxConcurrent: 1 } }, false), 'job')
    expect([outcome(limits.take(c)), outcome(limits.take(c))]).toEqual(['ok', 'would refuse, retry 1'])
  })
})

describe('a reload', () => {
  it('keeps the calls in flight, keeps the bucket of an unchanged rate and refills a changed one', () => {
    const limits = new CallerLimits(new ManualClock())
    const before = callers({ job: { rate: { perSecond: 1, burst: 1 }, maxConcurrent: 1 }, other: { rate: { perSecond: 1, burst: 1 } } })
    const held = limits.take(get(before, 'job'))
    limits.take(get(before, 'other'))
    const after = callers({ job: { rate: { perSecond: 1, burst: 3 }, maxConcurrent: 1 }, other: { rate: { perSecond: 1, burst: 1 } } })
    const problems: ConfigError[] = []
    limits.configure(readCallers({ profile: 'default', raw: { job: { rate: { perSecond: 1, burst: 3 }, maxConcurrent: 1 }, other: { rate: { perSecond: 1, burst: 1 } } }, where: 'x', readOnly: false, routes: [], callersEnforce: true, callerKeysDir: undefined, apiKeys: [], apiKeysVar: 'PROXY_API_KEYS', env: { PROXY_CALLER_JOB_KEY: 'job-key-0123456789abcdef', PROXY_CALLER_OTHER_KEY: 'other-key-0123456789abcdef' } }, problems))
    expect(limits.view(get(after, 'job'))).toEqual({ inFlight: 1, tokens: 3 })
    expect(outcome(limits.take(get(after, 'job')))).toBe('refused 429 caller_rate_limited retry 1')
    expect(outcome(limits.take(get(after, 'other')))).toBe('refused 429 caller_rate_limited retry 1')
    if (held.ok) held.ticket.release()
    expect(outcome(limits.take(get(after, 'job')))).toBe('ok')
  })
})
