import { afterEach, describe, expect, it } from 'vitest'
import { ManualClock, settle } from './helpers/manual-clock.js'
import { ScriptedEndpoint, providerFor } from './helpers/fake-tokens.js'
import { API, startStack, type Stack } from './helpers/harness.js'
import { MIN_REQUEST_INTERVAL_MS } from '../src/token/token-provider.js'

describe('invalidate', () => {
  it('drops the token only while it is still the current one', async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 3600 }])
    const provider = providerFor(clock, endpoint)
    const first = await provider.getToken()
    await clock.advance(MIN_REQUEST_INTERVAL_MS)
    expect(provider.invalidate(first.accessToken)).toBe(true)
    const second = await provider.getToken()
    expect(second.accessToken).toBe('token-2')
    expect(provider.invalidate(first.accessToken)).toBe(false)
    expect(provider.current()?.accessToken).toBe('token-2')
  })

  it('a storm of 100 concurrent invalidations of the same token causes one token request', async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 3600, delayMs: 100 }])
    const provider = providerFor(clock, endpoint)
    const p = provider.getToken()
    await settle()
    await clock.advance(100)
    const stale = await p
    await clock.advance(MIN_REQUEST_INTERVAL_MS)
    const storm = Array.from({ length: 100 }, async () => {
      provider.invalidate(stale.accessToken)
      return await provider.getToken()
    })
    await settle()
    await clock.advance(100)
    const fresh = await Promise.all(storm)
    expect(endpoint.calls).toBe(2)
    expect(new Set(fresh.map((t) => t.accessToken))).toEqual(new Set(['token-2']))
  })

  describe('through the proxy', () => {
    let stack: Stack | undefined
    afterEach(async () => { await stack?.close() })

    it('100 concurrent calls meeting a revoked token: one new token, every call answered 200', async () => {
      stack = await startStack()
      expect(stack.sim.tokenRequests).toBe(1)
      stack.sim.revokeAll()
      stack.sim.tokenDelayMs = 100
      const url = `${stack.url}${API}/agents/states`
      const statuses = await Promise.all(Array.from({ length: 100 }, async () => (await fetch(url)).status))
      expect(statuses.filter((s) => s !== 200)).toEqual([])
      expect(stack.sim.tokenRequests).toBe(2)
    })
  })
})
