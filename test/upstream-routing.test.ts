import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { createLogger } from '../src/core/log.js'
import { startProxy, type RunningProxy } from '../src/runtime/server.js'
import { CxoneSimulator, type SimulatorOptions } from '../src/simulator/simulator.js'
import { LogCapture, simulatorEnv } from './helpers/harness.js'
import { startUpstream, type Handler, type Upstream } from './helpers/upstream.js'

// Issue 11: every CXone API family through one address, each sent to the host that serves it.

interface Routed {
  sim: CxoneSimulator
  running: RunningProxy
  url: string
  logs: LogCapture
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function upstream (handler?: Handler): Promise<Upstream> {
  const u = await startUpstream(handler)
  cleanups.push(u.close)
  return u
}

/** The simulator and the real proxy; `env` sees the simulator (for its hosts), `file` becomes PROXY_CONFIG. */
async function routed (opts: { sim?: SimulatorOptions, env?: (sim: CxoneSimulator) => Record<string, string>, file?: unknown } = {}): Promise<Routed> {
  const sim = await new CxoneSimulator(opts.sim).start()
  cleanups.push(async () => { await sim.stop() })
  const env = simulatorEnv(sim, opts.env?.(sim) ?? {})
  if (opts.file !== undefined) {
    const path = join(mkdtempSync(join(tmpdir(), 'cxone-routing-')), 'proxy.config.json')
    writeFileSync(path, JSON.stringify(opts.file))
    env.PROXY_CONFIG = path
  }
  const config = loadConfig({ env, skipDefaultFile: true })
  const logs = new LogCapture()
  const running = await startProxy(config, { env: {}, logger: createLogger('info', logs) })
  cleanups.push(async () => { await running.proxy.close() })
  await running.proxy.provider.getToken()
  return { sim, running, url: running.url, logs }
}

const digitalFromSim = (sim: CxoneSimulator): Record<string, string> => ({ CXONE_DIGITAL_URL: sim.digitalOrigin })

async function getJson (url: string): Promise<{ status: number, body: Record<string, unknown>, headers: Headers }> {
  const r = await fetch(url)
  return { status: r.status, body: await r.json() as Record<string, unknown>, headers: r.headers }
}

describe('the default routing table, hosts from discovery', () => {
  it('sends each default prefix to its upstream, with the bearer', async () => {
    const { sim, url } = await routed({ env: digitalFromSim })
    const cases: Array<[string, string]> = [
      ['/dfo/3.0/contacts', 'digital'],
      ['/engager/2.0/segments', 'digital'],
      ['/business-data-manager/v1/fields', 'ui']
    ]
    for (const [path, host] of cases) {
      const r = await getJson(`${url}${path}`)
      // The simulator's hosts answer 200 only to a live bearer it issued.
      expect(r.status, path).toBe(200)
      expect(r.body).toMatchObject({ host, path })
    }
    const api = await getJson(`${url}/inContactAPI/services/v31.0/agents/states`)
    expect(api.status).toBe(200)
    expect(api.body).toHaveProperty('agentStates')
    const hosts = sim.apiRequests.map((r) => `${r.host} ${r.url}`)
    expect(hosts).toEqual([
      'digital /dfo/3.0/contacts',
      'digital /engager/2.0/segments',
      'ui /business-data-manager/v1/fields',
      'api /inContactAPI/services/v31.0/agents/states'
    ])
    for (const r of sim.apiRequests) expect(r.headers.authorization).toMatch(/^Bearer \S+$/)
  })

  it('matches prefixes case-insensitively and by whole segments', async () => {
    const { sim, url } = await routed({ env: digitalFromSim })
    expect((await getJson(`${url}/DFO/3.0/contacts`)).body).toMatchObject({ host: 'digital', path: '/DFO/3.0/contacts' })
    expect((await getJson(`${url}/Business-Data-Manager/v1/fields`)).body).toMatchObject({ host: 'ui' })
    expect((await getJson(`${url}/dfo`)).body).toMatchObject({ host: 'digital' })
    // `/dfox/` is another segment: it goes to api, which does not know it.
    const other = await getJson(`${url}/dfox/3.0/contacts`)
    expect(other.status).toBe(404)
    expect(other.body).toMatchObject({ host: 'api' })
    expect(sim.apiRequests.map((r) => r.host)).toEqual(['digital', 'ui', 'digital'])
  })

  it('logs and counts each request with its upstream, and readiness names every upstream with its origin', async () => {
    const { sim, url, logs } = await routed({ env: digitalFromSim })
    await fetch(`${url}/dfo/3.0/contacts`)
    await fetch(`${url}/inContactAPI/services/v31.0/skills/activity`)
    const lines = logs.entries.filter((e) => e.msg === 'request')
    expect(lines.map((l) => [l.path, l.upstream])).toEqual([['/dfo/3.0/contacts', 'digital'], ['/inContactAPI/services/v31.0/skills/activity', 'api']])
    const metrics = await (await fetch(`${url}/_proxy/metrics`)).text()
    expect(metrics).toMatch(/cxone_proxy_requests_total\{profile="default",upstream="digital",method="GET",route_class="api:dfo",status="200"\} 1/)
    expect(metrics).toMatch(/cxone_proxy_requests_total\{profile="default",upstream="api",method="GET",route_class="api:skills",status="200"\} 1/)
    const ready = await getJson(`${url}/_proxy/readyz`)
    expect(ready.status).toBe(200)
    expect(ready.body.upstreams).toEqual({
      api: { origin: sim.origin },
      digital: { origin: sim.digitalOrigin },
      ui: { origin: sim.uiOrigin }
    })
    // The start-up line prints the table; discovered origins are logged as they are found.
    const start = logs.entries.find((e) => String(e.msg).startsWith('cxone-auth-proxy listening on'))
    // CXONE_DIGITAL_URL is known at start; api and ui once the token's tenant is discovered, and only those are logged.
    expect(start?.routing).toEqual([
      `/dfo/ → digital (${sim.digitalOrigin})`,
      `/engager/ → digital (${sim.digitalOrigin})`,
      '/business-data-manager/ → ui (discovered from the token)',
      '/ → api (discovered from the token)'
    ])
    expect(logs.entries.filter((e) => e.upstream !== undefined && String(e.msg).includes('discovered from')).map((e) => [e.upstream, e.apiUrl ?? e.uiUrl ?? e.digitalUrl]))
      .toEqual([['api', { value: sim.origin, from: 'discovered' }], ['ui', { value: sim.uiOrigin, from: 'discovered' }]])
  })
})

describe('upstreams set statically and in the config file', () => {
  it('tries configured entries first, sends an explicit URL upstream the bearer, and forwards // as it is', async () => {
    const api = await upstream()
    const ui = await upstream()
    const digital = await upstream()
    const wfm = await upstream()
    const { url, logs } = await routed({
      env: () => ({ CXONE_API_URL: api.url, CXONE_UI_URL: ui.url, CXONE_DIGITAL_URL: digital.url }),
      file: { upstreams: [{ prefix: '/wfm/', upstream: wfm.url }, { prefix: '/dfo/3.0/special', upstream: 'api' }] }
    })
    for (const path of ['/wfm/schedules?x=1', '/dfo/3.0/special/x', '/dfo/3.0/contacts', '/incontactapi//services/v31.0/x', '/dfo//3.0/a', '/business-data-manager/v1/y']) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(200)
    }
    expect(wfm.seen.map((s) => s.url)).toEqual(['/wfm/schedules?x=1'])
    expect(wfm.seen[0]?.headers.authorization).toMatch(/^Bearer \S+$/)
    expect(wfm.seen[0]?.headers.host).toBe(new URL(wfm.url).host)
    // The configured /dfo/3.0/special overrides the default /dfo/ → digital; the path reaches the API byte for byte.
    expect(api.seen.map((s) => s.url)).toEqual(['/dfo/3.0/special/x', '/incontactapi//services/v31.0/x'])
    expect(digital.seen.map((s) => s.url)).toEqual(['/dfo/3.0/contacts', '/dfo//3.0/a'])
    expect(ui.seen.map((s) => s.url)).toEqual(['/business-data-manager/v1/y'])
    const start = logs.entries.find((e) => String(e.msg).startsWith('cxone-auth-proxy listening on'))
    expect(start?.routing).toEqual([
      `/wfm/ → ${wfm.url} (${wfm.url})`,
      `/dfo/3.0/special → api (${api.url})`,
      `/dfo/ → digital (${digital.url})`,
      `/engager/ → digital (${digital.url})`,
      `/business-data-manager/ → ui (${ui.url})`,
      `/ → api (${api.url})`
    ])
  })
})

describe('an upstream that cannot be resolved: 502 upstream_not_configured, nothing sent, the others still work', () => {
  async function expectNotConfigured (url: string, path: string, ...named: string[]): Promise<void> {
    const r = await fetch(`${url}${path}`)
    expect(r.status, path).toBe(502)
    expect(r.headers.get('proxy-status')).toMatch(/^cxone-auth-proxy; error=proxy_configuration_error/)
    const body = await r.json() as { error: { code: string, message: string } }
    expect(body.error.code).toBe('upstream_not_configured')
    for (const n of named) expect(body.error.message).toContain(n)
  }

  it('static configuration without CXONE_UI_URL or CXONE_DIGITAL_URL', async () => {
    const api = await upstream()
    const { sim, url } = await routed({ env: () => ({ CXONE_API_URL: api.url }) })
    await expectNotConfigured(url, '/business-data-manager/v1/fields', 'CXONE_UI_URL')
    await expectNotConfigured(url, '/engager/2.0/x', 'CXONE_DIGITAL_URL')
    expect((await fetch(`${url}/inContactAPI/services/v31.0/agents/states`)).status).toBe(200)
    expect(api.seen.map((s) => s.url)).toEqual(['/inContactAPI/services/v31.0/agents/states'])
    expect(sim.apiRequests).toHaveLength(0)
    const ready = await getJson(`${url}/_proxy/readyz`)
    expect(ready.status).toBe(200)
    expect(ready.body.upstreams).toMatchObject({ api: { origin: api.url }, ui: { origin: null, problem: { code: 'upstream_not_configured' } } })
  })

  it('a discovery answer without ui_endpoint, or without area and domain', async () => {
    const { sim, url } = await routed({ sim: { discovery: { ui_endpoint: null, area: null } } })
    await expectNotConfigured(url, '/business-data-manager/v1/fields', 'no ui_endpoint', 'CXONE_UI_URL')
    await expectNotConfigured(url, '/dfo/3.0/contacts', 'area=null', 'CXONE_DIGITAL_URL')
    expect((await fetch(`${url}/inContactAPI/services/v31.0/agents/states`)).status).toBe(200)
    expect(sim.apiRequests.map((r) => r.host)).toEqual(['api'])
  })

  it('a discovery answer without api_endpoint: the API fails, Digital Engagement still works', async () => {
    const { sim, url } = await routed({ sim: { discovery: { api_endpoint: null } }, env: digitalFromSim })
    await expectNotConfigured(url, '/inContactAPI/services/v31.0/agents/states', 'no api_endpoint', 'CXONE_API_URL')
    expect((await getJson(`${url}/dfo/3.0/contacts`)).body).toMatchObject({ host: 'digital' })
    expect(sim.apiRequests.map((r) => r.host)).toEqual(['digital'])
    expect((await fetch(`${url}/_proxy/readyz`)).status).toBe(503)
  })

  it('a discovered ui_endpoint in plain http off loopback is refused for its upstream, naming the field and the setting', async () => {
    const { sim, url, logs } = await routed({ sim: { discovery: { ui_endpoint: 'http://na1.nice-incontact.example' } }, env: digitalFromSim })
    await expectNotConfigured(url, '/business-data-manager/v1/fields', 'ui_endpoint=http://na1.nice-incontact.example', 'CXONE_UI_URL')
    expect((await getJson(`${url}/dfo/3.0/contacts`)).body).toMatchObject({ host: 'digital' })
    expect(sim.apiRequests.map((r) => r.host)).toEqual(['digital'])
    expect(logs.entries.some((e) => e.level === 40 && e.upstream === 'ui' && String(e.msg).includes('ui_endpoint=http://na1.nice-incontact.example'))).toBe(true)
  })

  it('CXONE_UI_URL overrides a refused ui_endpoint', async () => {
    const ui = await upstream()
    const { url } = await routed({ sim: { discovery: { ui_endpoint: 'http://na1.nice-incontact.example' } }, env: () => ({ CXONE_UI_URL: ui.url }) })
    expect((await fetch(`${url}/business-data-manager/v1/fields`)).status).toBe(200)
    expect(ui.seen.map((s) => s.url)).toEqual(['/business-data-manager/v1/fields'])
  })
})

describe('links and Location on every upstream', () => {
  it('rewrites an absolute URL on a known origin only when the table sends its path back to that origin', async () => {
    let apiOrigin = ''
    let digitalOrigin = ''
    const links = (): Record<string, string> => ({
      next: `${apiOrigin}/inContactAPI/services/v31.0/agents/states?skip=100`,
      de: `${digitalOrigin}/dfo/3.0/contacts?page=2`,
      deOnApi: `${apiOrigin}/dfo/3.0/contacts`,
      apiOnDigital: `${digitalOrigin}/inContactAPI/services/v31.0/x`,
      file: 'https://files.example.com/extract.csv?sig=abc'
    })
    const answer: Handler = (req, res) => {
      const text = JSON.stringify({ links: links(), escaped: links().next })
      res.writeHead(200, { 'content-type': 'application/json', location: req.url?.startsWith('/dfo') === true ? `${digitalOrigin}/dfo/3.0/contacts/1` : `${apiOrigin}/dfo/3.0/contacts/1` })
      res.end(text)
    }
    const api = await upstream(answer)
    const digital = await upstream(answer)
    apiOrigin = api.url
    digitalOrigin = digital.url
    const { url } = await routed({ env: () => ({ CXONE_API_URL: api.url, CXONE_DIGITAL_URL: digital.url }) })
    for (const path of ['/inContactAPI/services/v31.0/agents/states', '/dfo/3.0/contacts']) {
      const r = await fetch(`${url}${path}`)
      const text = await r.text()
      const body = JSON.parse(text) as { links: Record<string, string>, escaped: string }
      expect(body.links, path).toEqual({
        next: `${url}/inContactAPI/services/v31.0/agents/states?skip=100`,
        de: `${url}/dfo/3.0/contacts?page=2`,
        deOnApi: `${apiOrigin}/dfo/3.0/contacts`,
        apiOnDigital: `${digitalOrigin}/inContactAPI/services/v31.0/x`,
        file: 'https://files.example.com/extract.csv?sig=abc'
      })
      // JSON.stringify wrote `/` as is; the escaped form (`https:\/\/`) is covered by the unit tests.
      expect(body.escaped).toBe(`${url}/inContactAPI/services/v31.0/agents/states?skip=100`)
      expect(r.headers.get('location'), path).toBe(path.startsWith('/dfo') ? `${url}/dfo/3.0/contacts/1` : `${apiOrigin}/dfo/3.0/contacts/1`)
    }
  })
})
