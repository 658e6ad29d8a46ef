import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator, DEMO_CREDENTIALS } from '../src/simulator/simulator.js'
import { runCli, startCli, type RunningCli } from './helpers/cli.js'
import { API, simulatorEnv } from './helpers/harness.js'
import { closedPort } from './helpers/run-process.js'

const KEY = 'status-key'

describe('cxone-auth-proxy status', () => {
  let sim: CxoneSimulator
  let proxy: RunningCli
  let port: string
  beforeAll(async () => {
    sim = await new CxoneSimulator().start()
    proxy = startCli(['start'], simulatorEnv(sim, { PROXY_API_KEYS: KEY }))
    port = new URL((JSON.parse(await proxy.waitFor(/listening on/)) as { url: string }).url).port
    await proxy.waitFor(/token obtained/)
    await fetch(`http://127.0.0.1:${port}${API}/skills/activity`, { headers: { 'x-proxy-key': KEY } })
    await fetch(`http://127.0.0.1:${port}${API}/agents/states`, { headers: { 'x-request-id': 'no-key-call' } })
  }, 40_000)
  afterAll(async () => {
    await proxy.stop('SIGTERM')
    await sim.stop()
  })

  it('prints the token, the upstreams, the traffic, the last errors and the masked settings as text', { timeout: 30_000 }, async () => {
    const r = await runCli(['status', '--port', port], { PROXY_API_KEYS: KEY })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n')
    const at = (prefix: string): string => lines.find((l) => l.startsWith(prefix)) ?? `(no line starting "${prefix}")`
    expect(lines[0]).toMatch(/^cxone-auth-proxy status at \d{4}-\d\d-\d\dT[\d:.]+Z$/)
    expect(at('profile ')).toBe('profile default: token valid')
    expect(at('  fingerprint ')).toMatch(/^ {2}fingerprint {5}[0-9a-f]{12}$/)
    expect(at('  expires in ')).toMatch(/^ {2}expires in {6}(59|60) min \d\d s$/)
    expect(at('  next refresh ')).toMatch(/^ {2}next refresh {4}\S+Z \(in 4\d min \d\d s\)$/)
    expect(at('  last error ')).toBe('  last error      none')
    expect(at('  API origin ')).toBe(`  API origin      ${sim.origin} (discovered)`)
    expect(at('  traffic')).toBe('  traffic, last 15 min: 2 requests, by minute:')
    expect(at('  last proxy errors')).toBe('  last proxy errors (1):')
    expect(r.stdout).toMatch(/\n {4}\S+Z {2}401 proxy_auth_required {2}GET \/inContactAPI\/services\/v31\.0\/agents\/states {2}request id no-key-call\n {6}this proxy needs a key: send one of PROXY_API_KEYS as the X-Proxy-Key header\n/)
    expect(at('  CXONE_CLIENT_SECRET ')).toBe('  CXONE_CLIENT_SECRET      ****** (from env)')
    expect(at('  PROXY_API_KEYS ')).toBe('  PROXY_API_KEYS           ****** (from env)')
    expect(at('  inbound keys ')).toBe('  inbound keys             1, values hidden')
    for (const secret of [DEMO_CREDENTIALS.clientSecret, DEMO_CREDENTIALS.accessKeySecret, KEY, ...sim.issuedTokens()]) expect(r.stdout).not.toContain(secret)
  })

  it('--json prints the JSON of /_proxy/status.json', { timeout: 30_000 }, async () => {
    const r = await runCli(['status', '--port', port, '--json'], { PROXY_API_KEYS: KEY })
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as { service: string, profiles: Array<{ name: string, token: { state: string } }> }
    expect(report.service).toBe('cxone-auth-proxy')
    expect(report.profiles.map((p) => [p.name, p.token.state])).toEqual([['default', 'valid']])
  })

  it('without the key it relays the refusal, exit 1; with nothing listening, exit 3', { timeout: 30_000 }, async () => {
    const refused = await runCli(['status', '--port', port])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe(`cxone-auth-proxy: status refused by the proxy at http://127.0.0.1:${port}: proxy_auth_required: this proxy needs a key: send one of PROXY_API_KEYS as the X-Proxy-Key header (this command sends the first of PROXY_API_KEYS / PROXY_API_KEYS_FILE: set one of them as for the proxy)\n`)
    const free = await closedPort()
    const none = await runCli(['status', '--port', String(free)])
    expect(none.code).toBe(3)
    expect(none.stderr).toBe(`cxone-auth-proxy: nothing listens on http://127.0.0.1:${free}: the proxy is not running there (already stopped?) or listens on another port; pass --port N\n`)
  })
})
