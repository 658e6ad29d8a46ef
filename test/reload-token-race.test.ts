import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { createLogger } from '../src/core/log.js'
import { startProxy, type RunningProxy } from '../src/runtime/server.js'
import { CxoneSimulator, DEMO_CREDENTIALS, DEMO_TENANT_ID, DEMO_TENANT_TWO } from '../src/simulator/simulator.js'
import type { SimulatorCredentials } from '../src/simulator/token-endpoint.js'
import { ScriptedEndpoint, providerFor } from './helpers/fake-tokens.js'
import { API, LogCapture } from './helpers/harness.js'
import { ManualClock, settle } from './helpers/manual-clock.js'
import { startUpstream } from './helpers/upstream.js'

// Issue 24, defect 3: credential X → Y → X by reloads while Y's token request is in flight. Y's late answer must
// be dropped: no request may go out with the token of a credential that is no longer configured.

const X = DEMO_CREDENTIALS
const Y = DEMO_TENANT_TWO.credentials
const SLOW_TOKEN_MS = 800
const FILES = { clientId: 'client_id', clientSecret: 'client_secret', accessKeyId: 'access_key_id', accessKeySecret: 'access_key_secret' } as const

let generation = 0
/** The four secrets as a new `..data_N` folder, swapped in by one rename (a Kubernetes Secret update). */
function writeSecrets (dir: string, c: SimulatorCredentials): void {
  generation++
  const data = join(dir, `..data_${generation}`)
  mkdirSync(data)
  for (const [key, file] of Object.entries(FILES)) writeFileSync(join(data, file), c[key as keyof typeof FILES])
  symlinkSync(`..data_${generation}`, join(dir, '..data_tmp'))
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
}

const tenantOf = (authorization: unknown): unknown => {
  const jwt = String(authorization).replace(/^Bearer /, '')
  return (JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as { tenantId: unknown }).tenantId
}

const pause = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

let cleanup: (() => Promise<void>) | undefined
afterEach(async () => { await cleanup?.(); cleanup = undefined })

interface Setup { sim: CxoneSimulator, secrets: string, configPath: string, running: RunningProxy }

/** The proxy with its four secrets as files (credential X) and a config file; the first token obtained. */
async function start (config: Record<string, unknown>): Promise<Setup> {
  const sim = await new CxoneSimulator({ otherTenants: [DEMO_TENANT_TWO] }).start()
  const dir = mkdtempSync(join(tmpdir(), 'reload-race-'))
  const secrets = join(dir, 'secrets')
  mkdirSync(secrets)
  writeSecrets(secrets, X)
  for (const file of Object.values(FILES)) symlinkSync(`..data/${file}`, join(secrets, file))
  const env: Record<string, string> = { CXONE_ISSUER: sim.issuer, PROXY_PORT: '0' }
  for (const [key, file] of Object.entries(FILES)) env[`CXONE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_FILE`] = join(secrets, file)
  const configPath = join(dir, 'proxy.config.json')
  writeFileSync(configPath, JSON.stringify(config))
  const load = (): ReturnType<typeof loadConfig> => loadConfig({ env, configPath })
  const running: RunningProxy = await startProxy(load(), { env: {}, logger: createLogger('info', new LogCapture()) }, { load, env, configPath })
  cleanup = async () => { await running.shutdown('test over'); await sim.stop(); rmSync(dir, { recursive: true, force: true }) }
  await running.proxy.provider.getToken()
  return { sim, secrets, configPath, running }
}

describe('a reload during a token request', () => {
  it('the provider drops an answer for replaced credentials, also for a caller already waiting on it (manual clock)', async () => {
    const clock = new ManualClock()
    const named = (name: string, e: ScriptedEndpoint) => async () => ({ ...(await e.obtain()), accessToken: `${name}-${e.calls}` })
    const x = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 3600, delayMs: SLOW_TOKEN_MS }])
    const y = new ScriptedEndpoint(clock, [{ kind: 'token', lifetimeSec: 3600, delayMs: SLOW_TOKEN_MS }])
    const provider = providerFor(clock, x, { obtain: named('X', x) })
    provider.start()
    await clock.advance(SLOW_TOKEN_MS)
    expect(provider.current()?.accessToken).toBe('X-1')
    await clock.advance(1_000)

    // To Y; the old token is withdrawn (an upstream 401), so a caller waits for the answer in flight.
    provider.replaceObtain(named('Y', y))
    provider.invalidate('X-1')
    const waiting = provider.getToken()
    await clock.advance(200)
    expect(y.calls).toBe(1)
    // Back to X while Y's answer is still out.
    provider.replaceObtain(named('X', x))
    await clock.advance(SLOW_TOKEN_MS - 200)
    await settle()
    expect(provider.current()).toBeUndefined()
    await clock.advance(SLOW_TOKEN_MS)
    expect((await waiting).accessToken).toBe('X-2')
    expect(provider.current()?.accessToken).toBe('X-2')
    expect([x.calls, y.calls]).toEqual([2, 1])
    provider.stop()
  })

  it('drops the late token of a credential a later reload replaced: no call carries it', async () => {
    const { sim, secrets, running } = await start({})
    expect(tenantOf(`Bearer ${(await running.proxy.provider.getToken()).accessToken}`)).toBe(DEMO_TENANT_ID)

    sim.tokenDelayMs = SLOW_TOKEN_MS
    // Past the least interval between token requests, so that Y's is sent at once.
    await pause(600)
    const requested = sim.tokenRequests
    writeSecrets(secrets, Y)
    await running.reload('test: to Y')
    await pause(200)
    expect(sim.tokenRequests).toBe(requested + 1)
    writeSecrets(secrets, X)
    await running.reload('test: back to X')
    const backToX = sim.apiRequests.length

    // Callers keep calling while both answers (Y's late one, then X's) arrive.
    const deadline = Date.now() + 3 * SLOW_TOKEN_MS
    while (Date.now() < deadline) {
      const r = await fetch(`${running.url}${API}/agents/states`)
      expect(r.status).toBe(200)
      await pause(20)
    }
    const tenants = sim.apiRequests.slice(backToX).map((r) => tenantOf(r.headers.authorization))
    expect(tenants.length).toBeGreaterThan(10)
    expect(tenants.filter((t) => t !== DEMO_TENANT_ID)).toEqual([])
    expect(tenantOf(`Bearer ${running.proxy.provider.current()?.accessToken ?? ''}`)).toBe(DEMO_TENANT_ID)
  }, 30_000)

  it('never sends the old credential\'s token to the new API host when one reload replaces both', async () => {
    const a = await startUpstream()
    const b = await startUpstream()
    try {
      const { sim, secrets, configPath, running } = await start({ apiUrl: a.url })
      expect((await fetch(`${running.url}${API}/agents/states`)).status).toBe(200)
      sim.tokenDelayMs = SLOW_TOKEN_MS
      await pause(600)
      writeSecrets(secrets, Y)
      writeFileSync(configPath, JSON.stringify({ apiUrl: b.url }))
      await running.reload('test: to Y at another API host')
      const deadline = Date.now() + 2 * SLOW_TOKEN_MS
      while (Date.now() < deadline) {
        expect((await fetch(`${running.url}${API}/agents/states`)).status).toBe(200)
        await pause(20)
      }
      expect(b.seen.length).toBeGreaterThan(5)
      expect(b.seen.map((r) => tenantOf(r.headers.authorization)).filter((t) => t !== DEMO_TENANT_TWO.tenantId)).toEqual([])
    } finally {
      await a.close()
      await b.close()
    }
  }, 30_000)
})
