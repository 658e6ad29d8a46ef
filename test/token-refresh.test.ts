import { afterEach, describe, expect, it } from 'vitest'
import { ManualClock, settle } from './helpers/manual-clock.js'
import { ScriptedEndpoint, providerFor, usableUntil } from './helpers/fake-tokens.js'
import { API, startStack, type Stack } from './helpers/harness.js'

describe('refresh ahead', () => {
  it('refreshes in the background at 80% of the lifetime, counted from when the response arrived', async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 3600, delayMs: 500 }])
    const provider = providerFor(clock, endpoint)
    provider.start()
    await clock.advance(500)
    expect(endpoint.calls).toBe(1)
    await clock.advance(3600 * 1000 * 0.8 - 1)
    expect(endpoint.calls).toBe(1)
    await clock.advance(1)
    expect(endpoint.calls).toBe(2)
    // The old token is still handed out, without waiting, while the new one is on its way.
    expect(provider.current()?.accessToken).toBe('token-1')
    await clock.advance(500)
    expect(provider.current()?.accessToken).toBe('token-2')
  })

  it('the refresh point is configurable (CXONE_REFRESH_AHEAD)', async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 100 }])
    const provider = providerFor(clock, endpoint, { refreshAhead: 0.5 })
    provider.start()
    await settle()
    await clock.advance(49_999)
    expect(endpoint.calls).toBe(1)
    await clock.advance(1)
    expect(endpoint.calls).toBe(2)
  })

  it('a token living longer than a timer can wait (a year) is not refreshed early', async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 365 * 24 * 3600 }])
    const provider = providerFor(clock, endpoint)
    provider.start()
    await settle()
    await clock.advance(100 * 24 * 3600 * 1000)
    expect(endpoint.calls).toBe(1)
    await clock.advance(200 * 24 * 3600 * 1000)
    expect(endpoint.calls).toBe(2)
  })

  it('a 5-second token from a slow (800 ms) endpoint: callers never wait and never get an expired token', async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 5, delayMs: 800 }])
    const provider = providerFor(clock, endpoint)
    provider.start()
    await clock.advance(800)
    for (let step = 0; step < 300; step++) {
      const t = provider.current()
      expect(t, `no token at ${step * 100} ms`).toBeDefined()
      expect(clock.now()).toBeLessThan(usableUntil(t as NonNullable<typeof t>))
      await clock.advance(100)
    }
    // 30 s of 5 s tokens: one per 4 s (80%) plus the first.
    expect(endpoint.calls).toBeGreaterThanOrEqual(7)
    expect(endpoint.calls).toBeLessThanOrEqual(9)
  })

  it('a 5-second token from an endpoint that takes 1.5 s: refreshed early enough that callers never wait', async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 5, delayMs: 1_500 }])
    const provider = providerFor(clock, endpoint)
    provider.start()
    await clock.advance(1_500)
    for (let step = 0; step < 200; step++) {
      const t = provider.current()
      expect(t, `no token at ${step * 100} ms`).toBeDefined()
      await clock.advance(100)
    }
  })

  it('never hands out a token past its expiry even when the refresh keeps failing', async () => {
    const clock = new ManualClock()
    const { ProxyError } = await import('../src/core/errors.js')
    const endpoint = new ScriptedEndpoint(clock, [
      { kind: 'token', lifetimeSec: 10 },
      { kind: 'error', error: new ProxyError('token_unavailable', 'down') }
    ])
    const provider = providerFor(clock, endpoint)
    provider.start()
    await settle()
    const first = provider.current()
    expect(first?.accessToken).toBe('token-1')
    await clock.advance(9_400)
    expect(provider.current()?.accessToken).toBe('token-1')
    await clock.advance(200)
    expect(provider.current()).toBeUndefined()
    await expect(provider.getToken()).rejects.toMatchObject({ code: 'token_unavailable' })
  })

  describe('end to end with a 2-second token and a slow endpoint', () => {
    let stack: Stack | undefined
    afterEach(async () => { await stack?.close() })

    it('every call succeeds for 5 s and the API never sees an expired token', async () => {
      stack = await startStack({ sim: { lifetimeSec: 2 } })
      stack.sim.tokenDelayMs = 300
      const url = `${stack.url}${API}/server-time`
      const statuses: number[] = []
      const deadline = Date.now() + 5_000
      while (Date.now() < deadline) {
        statuses.push((await fetch(url)).status)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(statuses.length).toBeGreaterThan(20)
      expect(statuses.every((s) => s === 200)).toBe(true)
      expect(stack.sim.unauthorizedApiCalls).toBe(0)
      expect(stack.sim.tokenRequests).toBeGreaterThanOrEqual(3)
    })
  })
})
