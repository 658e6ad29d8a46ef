import { afterEach, describe, expect, it } from 'vitest'
import { ManualClock, settle } from './helpers/manual-clock.js'
import { ScriptedEndpoint, providerFor } from './helpers/fake-tokens.js'
import { startStack, API, type Stack } from './helpers/harness.js'

describe('single flight', () => {
  it('200 concurrent cold callers cause one token request and all get the same token', async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 3600, delayMs: 300 }])
    const provider = providerFor(clock, endpoint)
    const callers = Array.from({ length: 200 }, async () => await provider.getToken())
    await settle()
    await clock.advance(300)
    const tokens = await Promise.all(callers)
    expect(endpoint.calls).toBe(1)
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['token-1']))
  })

  describe('through the proxy, cold', () => {
    let stack: Stack | undefined
    afterEach(async () => { await stack?.close() })

    it('200 concurrent requests before any token exists → one token request at the simulator', async () => {
      stack = await startStack({ waitForToken: false })
      stack.sim.tokenDelayMs = 200
      const url = `${stack.url}${API}/server-time`
      const answers = await Promise.all(Array.from({ length: 200 }, async () => (await fetch(url)).status))
      expect(answers.every((s) => s === 200)).toBe(true)
      expect(stack.sim.tokenRequests).toBe(1)
    })
  })
})
