import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { runCheckAgainst } from './helpers/check.js'

// Issue 11: `check` prints the routing table with each upstream's origin, and where a path would go.
describe('check: the routing table', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator().start() })
  afterAll(async () => { await sim.stop() })

  it('lists every row in the order tried, each upstream with the origin discovery gave it', async () => {
    const run = await runCheckAgainst(sim, { env: { CXONE_DIGITAL_URL: sim.digitalOrigin } })
    expect(run.code).toBe(0)
    const lines = run.text.split('\n')
    const at = lines.findIndex((l) => l.startsWith('[ok]   routing:'))
    expect(lines.slice(at + 2, at + 6).map((l) => l.trim().replace(/ +/g, ' '))).toEqual([
      `1. /dfo/ digital → ${sim.digitalOrigin}`,
      `2. /engager/ digital → ${sim.digitalOrigin}`,
      `3. /business-data-manager/ ui → ${sim.uiOrigin}`,
      `4. / api → ${sim.origin}`
    ])
  })

  it('--route names the upstream and origin a path goes to; --json has the table', async () => {
    const run = await runCheckAgainst(sim, { env: { CXONE_DIGITAL_URL: sim.digitalOrigin }, route: '/DFO/3.0/contacts', json: true })
    expect(run.code).toBe(0)
    const report = JSON.parse(run.text) as { steps: Array<{ name: string, status: string, details: Record<string, unknown> }> }
    const routing = report.steps.find((s) => s.name === 'routing')
    expect(routing?.status).toBe('ok')
    expect(routing?.details.route).toBe(`/DFO/3.0/contacts → digital ${sim.digitalOrigin}`)
    expect(routing?.details.table).toMatchObject({ '3. /business-data-manager/': `ui → ${sim.uiOrigin}`, '4. /': `api → ${sim.origin}` })
  })

  it('shows a configured row before the default it overrides, and --route agrees with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'check-routing-'))
    writeFileSync(join(dir, 'proxy.config.json'), JSON.stringify({ upstreams: [{ prefix: '/dfo/', upstream: sim.uiOrigin }] }))
    const run = await runCheckAgainst(sim, { env: { CXONE_DIGITAL_URL: sim.digitalOrigin, PROXY_CONFIG: join(dir, 'proxy.config.json') }, route: '/dfo/3.0/contacts', json: true })
    const routing = (JSON.parse(run.text) as { steps: Array<{ name: string, details: Record<string, unknown> }> }).steps.find((s) => s.name === 'routing')
    expect(routing?.details.table).toMatchObject({ '1. /dfo/': `${sim.uiOrigin} → ${sim.uiOrigin}`, '2. /dfo/': `digital → ${sim.digitalOrigin}` })
    expect(routing?.details.route).toBe(`/dfo/3.0/contacts → ${sim.uiOrigin} ${sim.uiOrigin}`)
  })

  it('--route to an upstream whose host is not known fails, naming the setting', async () => {
    const run = await runCheckAgainst(sim, { env: { CXONE_API_URL: sim.origin }, route: '/business-data-manager/v1/fields' })
    expect(run.code).toBe(1)
    expect(run.text).toContain('[FAIL] routing: /business-data-manager/v1/fields → ui, whose host is not known')
    expect(run.text).toMatch(/upstream_not_configured.*CXONE_UI_URL|CXONE_UI_URL[\s\S]*upstream_not_configured/)
    // Without --route an unset upstream nobody uses is no failure.
    expect((await runCheckAgainst(sim, { env: { CXONE_API_URL: sim.origin } })).code).toBe(0)
  })

  it('--route to an upstream whose discovered host does not resolve fails, naming its variable (issue 25)', async () => {
    // Against the simulator, /dfo/ goes to https://api-de-na1.cxone-simulator.test: a name that never resolves.
    const run = await runCheckAgainst(sim, { route: '/dfo/3.0/contacts' })
    expect(run.code).toBe(1)
    expect(run.text).toMatch(/\[FAIL\] routing: \/dfo\/3\.0\/contacts → digital \(https:\/\/api-de-na1\.cxone-simulator\.test\), whose host does not resolve/)
    expect(run.text).toContain('1. [dns_failure] api-de-na1.cxone-simulator.test, the digital upstream\'s host, does not resolve (ENOTFOUND)')
    expect(run.text).toContain('fix: set CXONE_DIGITAL_URL to the host\'s https:// origin')
  })
})
