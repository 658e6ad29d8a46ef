import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator, DEMO_TENANT_ID } from '../src/simulator/simulator.js'
import { expectNoSecrets, runCheckAgainst } from './helpers/check.js'

// Issue 23: `check` shows what a script pointed at the proxy would be told by discovery, with local auth on.

describe('check with PROXY_LOCAL_AUTH=true', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator().start() })
  afterAll(async () => { await sim.stop() })

  it('adds a local auth step: the proxy as issuer, token endpoint and api_endpoint, the tenant\'s own fields', async () => {
    const run = await runCheckAgainst(sim, { env: { PROXY_LOCAL_AUTH: 'true', PROXY_PORT: '8123' }, json: true })
    expect(run.code).toBe(0)
    const report = JSON.parse(run.text) as { steps: Array<{ name: string, status: string, summary: string, details: Record<string, unknown> }> }
    expect(report.steps.map((s) => s.name).at(-1)).toBe('local auth')
    expect(report.steps.at(-1)).toEqual({
      name: 'local auth',
      status: 'info',
      summary: 'PROXY_LOCAL_AUTH is on: a script whose base URL is http://127.0.0.1:8123 is told: token endpoint http://127.0.0.1:8123/auth/token, api_endpoint http://127.0.0.1:8123',
      details: {
        issuer: 'http://127.0.0.1:8123',
        tokenEndpoint: 'http://127.0.0.1:8123/auth/token',
        cxoneConfiguration: { tenantId: DEMO_TENANT_ID, area: 'na1', cluster: 'SIM1', domain: 'cxone-simulator.test', api_endpoint: 'http://127.0.0.1:8123', ui_endpoint: 'http://127.0.0.1:8123', auth_endpoint: 'http://127.0.0.1:8123' }
      }
    })
    expectNoSecrets(run)
  })

  it('names PROXY_PUBLIC_URL\'s origin when it is set', async () => {
    const run = await runCheckAgainst(sim, { env: { PROXY_LOCAL_AUTH: 'true', PROXY_PUBLIC_URL: 'https://cxone-proxy.internal.example' } })
    expect(run.code).toBe(0)
    expect(run.text).toContain('local auth: PROXY_LOCAL_AUTH is on: a script whose base URL is https://cxone-proxy.internal.example is told: token endpoint https://cxone-proxy.internal.example/auth/token')
  })
})
