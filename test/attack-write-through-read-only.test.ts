import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { compileRoute } from '../src/core/paths.js'
import { loadConfig } from '../src/core/config.js'
import { createLogger } from '../src/core/log.js'
import { startProxy } from '../src/runtime/server.js'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { API, LogCapture, simulatorEnv, startStack, type Stack } from './helpers/harness.js'

describe('attack: writing or reading beyond what a sidecar is for', () => {
  let stack: Stack | undefined
  afterEach(async () => { await stack?.close(); stack = undefined })

  it('PROXY_READ_ONLY refuses POST, PUT, PATCH and DELETE with 403 forbidden_route', async () => {
    stack = await startStack({ env: { PROXY_READ_ONLY: 'true' } })
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const r = await fetch(`${stack.url}${API}/agents/123/state`, { method, body: method === 'DELETE' ? undefined : '{}', headers: { 'content-type': 'application/json' } })
      expect(r.status, method).toBe(403)
      expect(await r.json()).toMatchObject({ error: { code: 'forbidden_route' } })
    }
    expect(stack.sim.apiRequests).toHaveLength(0)
    expect((await fetch(`${stack.url}${API}/server-time`)).status).toBe(200)
  })

  it('the routes allow-list forwards only what matches', async () => {
    const sim = await new CxoneSimulator().start()
    const dir = mkdtempSync(join(tmpdir(), 'cxone-routes-'))
    const file = join(dir, 'proxy.config.json')
    writeFileSync(file, JSON.stringify({ routes: ['GET /inContactAPI/services/*/skills/**'] }))
    const config = loadConfig({ env: simulatorEnv(sim), configPath: file })
    const running = await startProxy(config, { env: {}, logger: createLogger('silent', new LogCapture()) })
    try {
      expect((await fetch(`${running.url}${API}/skills/activity`)).status).toBe(200)
      expect((await fetch(`${running.url}${API}/skills/4001/activity`)).status).toBe(200)
      const refused = await fetch(`${running.url}${API}/agents/states`)
      expect(refused.status).toBe(403)
      expect(await refused.json()).toMatchObject({ error: { code: 'forbidden_route' } })
      expect((await fetch(`${running.url}${API}/skills/activity`, { method: 'POST', body: '{}' })).status).toBe(403)
      expect(sim.apiRequests.map((r) => r.url)).toEqual([`${API}/skills/activity`, `${API}/skills/4001/activity`])
    } finally {
      await running.proxy.close()
      await sim.stop()
    }
  })

  it('route patterns: * is one segment, ** any rest', () => {
    const match = compileRoute({ method: 'GET', pattern: '/inContactAPI/services/*/skills/**' })
    expect(match('GET', '/inContactAPI/services/v31.0/skills')).toBe(true)
    expect(match('GET', '/inContactAPI/services/v31.0/skills/activity')).toBe(true)
    expect(match('GET', '/inContactAPI/services/v31.0/x/skills/activity')).toBe(false)
    expect(match('GET', '/inContactAPI/services/v31.0/skillsX')).toBe(false)
    expect(match('POST', '/inContactAPI/services/v31.0/skills/activity')).toBe(false)
    expect(compileRoute({ method: '*', pattern: '/a/*.json' })('PUT', '/a/b.json')).toBe(true)
  })
})
