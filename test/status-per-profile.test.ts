import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { createLogger } from '../src/core/log.js'
import type { StatusReport } from '../src/ops/status.js'
import { renderStatusPage } from '../src/ops/status-html.js'
import { startProxy, type RunningProxy } from '../src/runtime/server.js'
import { CxoneSimulator, DEMO_TENANT_TWO } from '../src/simulator/simulator.js'
import { API, LogCapture, simulatorEnv } from './helpers/harness.js'

// Issue 25: the status page and status.json show each profile its own traffic, errors, upstreams and spared calls,
// and the page's first view is drawn on the server.

const TWO = DEMO_TENANT_TWO.credentials

describe('the status page with two business units', () => {
  let a: CxoneSimulator
  let b: CxoneSimulator
  let running: RunningProxy
  let urlA: string
  let urlB: string
  const sum = (xs: number[]): number => xs.reduce((n, x) => n + x, 0)
  const report = async (): Promise<StatusReport> => await (await fetch(`${urlA}/_proxy/status.json`)).json() as StatusReport
  const profile = (r: StatusReport, name: string): StatusReport['profiles'][number] => r.profiles.find((p) => p.name === name) as StatusReport['profiles'][number]

  beforeAll(async () => {
    a = await new CxoneSimulator().start()
    b = await new CxoneSimulator({ credentials: TWO, tenantId: DEMO_TENANT_TWO.tenantId }).start()
    const path = join(mkdtempSync(join(tmpdir(), 'status-units-')), 'proxy.config.json')
    writeFileSync(path, JSON.stringify({
      readOnly: true,
      profiles: { 'bu-two': { port: 0, issuer: b.issuer, digitalUrl: b.digitalOrigin, cache: [{ route: 'GET /inContactAPI/services/*/skills/activity', ttlMs: 60_000 }] } }
    }))
    const env = simulatorEnv(a, {
      PROXY_CONFIG: path,
      CXONE_BU_TWO_CLIENT_ID: TWO.clientId,
      CXONE_BU_TWO_CLIENT_SECRET: TWO.clientSecret,
      CXONE_BU_TWO_ACCESS_KEY_ID: TWO.accessKeyId,
      CXONE_BU_TWO_ACCESS_KEY_SECRET: TWO.accessKeySecret
    })
    running = await startProxy(loadConfig({ env, skipDefaultFile: true }), { env: {}, logger: createLogger('silent', new LogCapture()) })
    urlA = running.urls.default as string
    urlB = running.urls['bu-two'] as string
    // Five calls to bu-two (one to CXone, four from its micro-cache), one refused call to the default profile.
    for (let i = 0; i < 5; i++) expect((await fetch(`${urlB}${API}/skills/activity`)).status).toBe(200)
    expect((await fetch(`${urlA}${API}/agents/states`, { method: 'POST', body: '{}', headers: { 'x-request-id': 'refused-on-default' } })).status).toBe(403)
  }, 30_000)
  afterAll(async () => {
    await running?.proxy.close()
    await a?.stop()
    await b?.stop()
  })

  it('status.json gives each profile its own requests and errors', async () => {
    const r = await report()
    const two = profile(r, 'bu-two')
    const one = profile(r, 'default')
    expect(sum(two.traffic.minutes.map((m) => m.requests))).toBe(5)
    expect(sum(one.traffic.minutes.map((m) => m.requests))).toBe(1)
    expect(one.traffic.recentErrors.map((e) => e.reqId)).toEqual(['refused-on-default'])
    expect(two.traffic.recentErrors).toEqual([])
  })

  it('counts the calls to CXone and the calls spared beside them', async () => {
    const two = profile(await report(), 'bu-two')
    expect(sum(two.traffic.quota.map((m) => m.upstreamCalls))).toBe(1)
    expect(sum(two.traffic.quota.map((m) => m.spared.cache ?? 0))).toBe(4)
  })

  it('lists every routed upstream with its origin', async () => {
    const two = profile(await report(), 'bu-two')
    expect(two.routedUpstreams).toEqual({ digital: { origin: b.digitalOrigin }, ui: { origin: b.uiOrigin }, api: { origin: b.origin } })
  })

  it('draws the first view on the server: profiles, their traffic and the failure share, no "loading…"', async () => {
    const html = await (await fetch(`${urlA}/_proxy/`)).text()
    expect(html).not.toContain('loading…')
    expect(html).toContain('data-profile="default"')
    expect(html).toContain('data-profile="bu-two"')
    const fingerprint = running.proxy.provider.current()?.fingerprint as string
    expect(html).toContain(`<code>${fingerprint}</code>`)
    expect(html).toContain('1 call to CXone; spared: cache ×4')
    expect(html).toContain(`<code>${b.digitalOrigin}</code>`)
    // The default profile's minute: 1 request, refused by the proxy: the whole bar is the failure share.
    expect(html).toMatch(/<span class="fail h100" data-failure-share="1\/1"><\/span>/)
    expect(html).not.toMatch(/ style="/)
  })
})

describe('a minute\'s bar', () => {
  it('draws the share of failures, not a fully red bar: 5 failures in 43 requests', () => {
    const minute = (requests: number, errors: Record<string, number>): StatusReport['profiles'][number]['traffic']['minutes'][number] =>
      ({ start: '2026-12-07T23:00:00.000Z', requests, statuses: { 200: requests }, errors })
    const html = renderStatusPage({
      service: 'cxone-auth-proxy',
      now: '2026-12-07T23:01:00.000Z',
      settings: {},
      profiles: [{
        name: 'default',
        token: { state: 'valid', fingerprint: 'abc', obtainedAt: null, expiresAt: null, expiresInSec: null, nextRefreshAt: null, failures: 0, nextAttemptAt: null, lastError: null },
        upstreams: { issuer: 'https://cxone.example', api: null },
        routedUpstreams: { api: { origin: null, problem: { code: 'upstream_not_configured', message: 'no <host>' } } },
        traffic: { windowMinutes: 2, minutes: [minute(43, { destination_unavailable: 5 }), minute(10, {})], quota: [], recentErrors: [] }
      }]
    })
    expect(html).toContain('<span class="fail h10" data-failure-share="5/43"></span>')
    expect(html).toMatch(/<span class="col has-errors h100" title="\d\d:\d\d: 43 requests, 5 failed">/)
    // A caller's text is escaped, never markup.
    expect(html).toContain('upstream_not_configured: no &lt;host&gt;')
  })
})
