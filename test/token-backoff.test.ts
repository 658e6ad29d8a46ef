import { describe, expect, it } from 'vitest'
import pino from 'pino'
import { ProxyError } from '../src/core/errors.js'
import { LogCapture } from './helpers/harness.js'
import { ManualClock, settle } from './helpers/manual-clock.js'
import { ScriptedEndpoint, providerFor } from './helpers/fake-tokens.js'

const down = (): ProxyError => new ProxyError('token_unavailable', 'token endpoint unreachable')

describe('backoff', () => {
  it('backs off exponentially with jitter while the endpoint is down, then recovers by itself', async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [
      { kind: 'error', error: down() }, { kind: 'error', error: down() }, { kind: 'error', error: down() },
      { kind: 'token', lifetimeSec: 3600 }
    ])
    // random() = 0.5 → delay = 0.75 × 2^(n-1) s: 750, 1500, 3000 ms.
    const provider = providerFor(clock, endpoint)
    provider.start()
    await settle()
    expect(endpoint.calls).toBe(1)
    await clock.advance(749)
    expect(endpoint.calls).toBe(1)
    await clock.advance(1)
    expect(endpoint.calls).toBe(2)
    await clock.advance(1499)
    expect(endpoint.calls).toBe(2)
    await clock.advance(1)
    expect(endpoint.calls).toBe(3)
    await clock.advance(3000)
    expect(endpoint.calls).toBe(4)
    expect(provider.current()?.accessToken).toBe('token-4')
  })

  it('callers during the backoff fail fast with the remaining wait, without a token request', async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'error', error: down() }])
    const provider = providerFor(clock, endpoint)
    await expect(provider.getToken()).rejects.toMatchObject({ code: 'token_unavailable' })
    const results = await Promise.allSettled(Array.from({ length: 50 }, async () => await provider.getToken()))
    expect(endpoint.calls).toBe(1)
    const first = results[0] as PromiseRejectedResult
    expect((first.reason as ProxyError).retryAfterSec).toBe(1)
    provider.poke()
    await settle()
    expect(endpoint.calls).toBe(1)
  })

  it('honours a 429 Retry-After: no token request before it has passed', async () => {
    const clock = new ManualClock()
    const limited = new ProxyError('token_unavailable', 'token endpoint answered 429', { retryAfterSec: 30 })
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'error', error: limited }, { kind: 'token', lifetimeSec: 3600 }])
    const provider = providerFor(clock, endpoint)
    provider.start()
    await settle()
    await expect(provider.getToken()).rejects.toMatchObject({ code: 'token_unavailable', retryAfterSec: 30 })
    await clock.advance(29_999)
    provider.poke()
    await settle()
    expect(endpoint.calls).toBe(1)
    await clock.advance(1)
    expect(endpoint.calls).toBe(2)
    expect(provider.current()).toBeDefined()
  })

  it('keeps using a valid token while refreshes fail', async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 100 }, { kind: 'error', error: down() }])
    const provider = providerFor(clock, endpoint)
    provider.start()
    await settle()
    await clock.advance(90_000)
    expect(endpoint.calls).toBeGreaterThan(2)
    expect(provider.current()?.accessToken).toBe('token-1')
  })

  it('a configuration error is logged loudly once with the fix, then retried only every few minutes', async () => {
    const clock = new ManualClock()
    const rejected = new ProxyError('token_rejected', 'token endpoint rejected the request: 401 invalid_client (Bad client credentials). Check CXONE_CLIENT_ID and CXONE_CLIENT_SECRET', { oauthError: 'invalid_client' })
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'error', error: rejected }])
    const logs = new LogCapture()
    const provider = providerFor(clock, endpoint, { log: pino({ level: 'info' }, logs) })
    provider.start()
    await settle()
    for (let i = 0; i < 100; i++) {
      await provider.getToken().catch(() => undefined)
      provider.poke()
    }
    await clock.advance(60_000)
    expect(endpoint.calls).toBe(1)
    await clock.advance(20 * 60_000)
    // 300 s ± 10%: four or five more attempts in 20 minutes, not hundreds.
    expect(endpoint.calls).toBeGreaterThanOrEqual(4)
    expect(endpoint.calls).toBeLessThanOrEqual(6)
    const errors = logs.entries.filter((e) => e.level === 50)
    expect(errors).toHaveLength(1)
    expect(errors[0]?.msg).toContain('CXONE_CLIENT_SECRET')
  })
})

describe('timers that fire early', () => {
  it('a retry timer that fires before the backoff has passed is re-armed, not lost', async () => {
    const clock = new ManualClock(1_700_000_000_000, 2)
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'error', error: down() }, { kind: 'token', lifetimeSec: 3600 }])
    const provider = providerFor(clock, endpoint)
    provider.start()
    await settle()
    expect(endpoint.calls).toBe(1)
    await clock.advance(5_000)
    expect(endpoint.calls).toBe(2)
    expect(provider.current()?.accessToken).toBe('token-2')
  })

  it('a refresh timer that fires early still refreshes ahead', async () => {
    const clock = new ManualClock(1_700_000_000_000, 2)
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 100 }])
    const provider = providerFor(clock, endpoint)
    provider.start()
    await settle()
    await clock.advance(81_000)
    expect(endpoint.calls).toBe(2)
  })
})
