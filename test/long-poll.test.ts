import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { API, startApiStack, type Stack } from './helpers/harness.js'

describe('long polls (CXone holds agent event polls up to 60 s)', () => {
  it('the defaults leave room for them: upstream timeout and idle keep-alive above 60 s', () => {
    const { settings } = loadConfig({ env: { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 's' }, skipDefaultFile: true })
    expect(settings.upstreamTimeoutMs).toBeGreaterThan(60_000)
    expect(settings.keepAliveTimeoutMs).toBeGreaterThan(60_000)
  })

  describe('on the wire', () => {
    let stack: Stack
    beforeAll(async () => {
      // The upstream timeout is the setting, scaled down: an answer held 1.5 s passes a 3 s timeout.
      // An answer held 4 s is past it: 504, so the test fails if the setting is ignored (the default is 120 s).
      stack = await startApiStack((req, res) => {
        const hold = (req.url ?? '').includes('slow') ? 4_000 : 1_500
        setTimeout(() => { if (!res.destroyed) { res.writeHead(304); res.end() } }, hold)
      }, { PROXY_UPSTREAM_TIMEOUT_MS: '3000' })
    })
    afterAll(async () => { await stack.close() })

    it('a held answer comes through, and the proxy keeps idle client sockets as configured', async () => {
      const r = await fetch(`${stack.url}${API}/agent-sessions/1/get-next-event?timeout=60`)
      expect(r.status).toBe(304)
      expect(stack.running.proxy.app.server.keepAliveTimeout).toBe(stack.config.settings.keepAliveTimeoutMs)
    })

    it('an answer held past PROXY_UPSTREAM_TIMEOUT_MS is 504 connection_timeout', async () => {
      const started = performance.now()
      const r = await fetch(`${stack.url}${API}/agent-sessions/slow/get-next-event?timeout=60`)
      expect(r.status).toBe(504)
      expect(await r.json()).toMatchObject({ error: { code: 'connection_timeout' } })
      expect(performance.now() - started).toBeLessThan(3_900)
    })
  })
})
