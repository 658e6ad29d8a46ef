import { afterEach, describe, expect, it } from 'vitest'
import { parseTokenResponse, type RawResponse } from '../src/token/token-client.js'
import { MIN_REQUEST_INTERVAL_MS } from '../src/token/token-provider.js'
import { ManualClock, settle } from './helpers/manual-clock.js'
import { ScriptedEndpoint, providerFor } from './helpers/fake-tokens.js'
import { API, startStack, type Stack } from './helpers/harness.js'

const NOW = 1_700_000_000_000
const answer = (expiresIn: unknown): RawResponse => ({
  status: 200,
  contentType: 'application/json',
  retryAfter: null,
  text: JSON.stringify({ access_token: 'x', token_type: 'Bearer', expires_in: expiresIn })
})
const tooShort = (value: string): string =>
  `token endpoint sent expires_in=${value}: a token living under 1 s cannot be used, so the endpoint is misconfigured; fix its token lifetime (CXone issues 3600 s tokens) or check CXONE_TOKEN_URL points at the token endpoint`

describe('a token endpoint cannot make the proxy storm it', () => {
  it.each([
    [0.001, '0.001'],
    [0.999, '0.999'],
    ['0.5', '"0.5"']
  ])('expires_in=%s is refused as a misconfigured endpoint (token_invalid_response)', (value, shown) => {
    expect(() => parseTokenResponse(answer(value), NOW)).toThrow(expect.objectContaining({ code: 'token_invalid_response', message: tooShort(shown) }) as Error)
  })

  it('a 1-second token is still accepted', () => {
    expect(parseTokenResponse(answer(1), NOW).lifetimeSec).toBe(1)
  })

  it(`token requests start at least ${MIN_REQUEST_INTERVAL_MS} ms apart, even when every token is dropped at once`, async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 3600, delayMs: 5 }])
    const provider = providerFor(clock, endpoint)
    provider.start()
    // An API refusing every token: each call drops the current one and asks for another, every 10 ms for 10 s.
    for (let t = 0; t < 10_000; t += 10) {
      const current = provider.current()
      if (current !== undefined) provider.invalidate(current.accessToken)
      provider.getToken().catch(() => undefined)
      await clock.advance(10)
    }
    expect(endpoint.calls).toBeGreaterThanOrEqual(10_000 / MIN_REQUEST_INTERVAL_MS - 1)
    expect(endpoint.calls).toBeLessThanOrEqual(10_000 / MIN_REQUEST_INTERVAL_MS + 1)
    provider.stop()
  })

  it('a lifetime too short to be usable, if it got through, costs at most one request per interval', async () => {
    const clock = new ManualClock()
    const endpoint = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 0.001 }])
    const provider = providerFor(clock, endpoint)
    provider.start()
    for (let t = 0; t < 10_000; t += 10) {
      provider.getToken().catch(() => undefined)
      await clock.advance(10)
    }
    expect(endpoint.calls).toBeLessThanOrEqual(10_000 / MIN_REQUEST_INTERVAL_MS + 1)
    provider.stop()
    await settle()
  })

  describe('through the proxy', () => {
    let stack: Stack | undefined
    afterEach(async () => { await stack?.close() })

    it('an endpoint answering expires_in=0.001 for 3 s of steady calls: a handful of token requests, every caller a clear 502', async () => {
      stack = await startStack({ sim: { lifetimeSec: 0.001 }, waitForToken: false })
      const s = stack
      const bodies = new Set<string>()
      const statuses = new Set<number>()
      const deadline = Date.now() + 3_000
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (Date.now() < deadline) {
          const r = await fetch(`${s.url}${API}/skills/activity`)
          statuses.add(r.status)
          bodies.add(await r.text())
          await fetch(`${s.url}/_proxy/readyz`)
        }
      }))
      // Backoff after each refusal (1 s doubling, jittered): at most 4 attempts in 3 s. Before the fix: ~1,000.
      expect(s.sim.tokenRequests).toBeGreaterThanOrEqual(2)
      expect(s.sim.tokenRequests).toBeLessThanOrEqual(4)
      expect([...statuses]).toEqual([502])
      expect([...bodies].map((b) => JSON.parse(b) as unknown)).toEqual([{ error: { code: 'token_invalid_response', message: tooShort('0.001') } }])
      expect(s.sim.apiRequests).toEqual([])
      const errors = s.logs.entries.filter((e) => e.level === 50)
      expect(errors.map((e) => e.msg)).toEqual([tooShort('0.001')])
    })
  })
})
