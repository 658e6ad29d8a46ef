import { mkdtempSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { createLogger } from '../src/core/log.js'
import { startProxy, type RunningProxy } from '../src/runtime/server.js'
import { CxoneSimulator, DEMO_CREDENTIALS } from '../src/simulator/simulator.js'
import { API, LogCapture } from './helpers/harness.js'
import { startUpstream } from './helpers/upstream.js'

// Issue 15: reload without a restart. Secrets rotate the way Kubernetes rotates a mounted Secret (a `..data`
// symlink swapped), the config file is edited in place, and clients keep calling throughout.

interface Setup { sim: CxoneSimulator, running: RunningProxy, logs: LogCapture, dir: string, url: string }
let setup: Setup | undefined
afterEach(async () => {
  if (setup === undefined) return
  await setup.running.shutdown('test over')
  await setup.sim.stop()
  rmSync(setup.dir, { recursive: true, force: true })
  setup = undefined
})

let generation = 0
/** Writes the access key pair as a new `..data_N` folder and swaps the `..data` symlink to it in one rename. */
function writeSecrets (dir: string, key: { id: string, secret: string }): void {
  generation++
  const data = join(dir, `..data_${generation}`)
  mkdirSync(data)
  writeFileSync(join(data, 'access_key_id'), key.id)
  writeFileSync(join(data, 'access_key_secret'), key.secret)
  symlinkSync(`..data_${generation}`, join(dir, '..data_tmp'))
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
}

async function start (opts: { lifetimeSec?: number, config?: Record<string, unknown> } = {}): Promise<Setup> {
  const sim = await new CxoneSimulator({ lifetimeSec: opts.lifetimeSec ?? 3600 }).start()
  const dir = mkdtempSync(join(tmpdir(), 'reload-'))
  const secrets = join(dir, 'secrets')
  mkdirSync(secrets)
  writeSecrets(secrets, { id: DEMO_CREDENTIALS.accessKeyId, secret: DEMO_CREDENTIALS.accessKeySecret })
  symlinkSync('..data/access_key_id', join(secrets, 'access_key_id'))
  symlinkSync('..data/access_key_secret', join(secrets, 'access_key_secret'))
  const configPath = join(dir, 'proxy.config.json')
  writeFileSync(configPath, JSON.stringify(opts.config ?? { readOnly: false }))
  const env = {
    CXONE_ISSUER: sim.issuer,
    CXONE_CLIENT_ID: DEMO_CREDENTIALS.clientId,
    CXONE_CLIENT_SECRET: DEMO_CREDENTIALS.clientSecret,
    CXONE_ACCESS_KEY_ID_FILE: join(secrets, 'access_key_id'),
    CXONE_ACCESS_KEY_SECRET_FILE: join(secrets, 'access_key_secret'),
    PROXY_PORT: '0'
  }
  const load = (): ReturnType<typeof loadConfig> => loadConfig({ env, configPath })
  const logs = new LogCapture()
  const config = load()
  const running = await startProxy(config, { env: {}, logger: createLogger('info', logs) }, { load, env, configPath })
  await running.proxy.provider.getToken()
  return { sim, running, logs, dir, url: running.url }
}

async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const logged = (logs: LogCapture, text: string): Array<Record<string, unknown>> => logs.entries.filter((e) => String(e.msg).includes(text))

describe('reload without a restart', () => {
  it('rotated access keys (a Kubernetes Secret update, three times) are used for the next token; clients looping see no failure', async () => {
    setup = await start()
    const { sim, running, url } = setup
    const secrets = join(setup.dir, 'secrets')
    let stop = false
    const failures: string[] = []
    let calls = 0
    const client = async (): Promise<void> => {
      while (!stop) {
        const r = await fetch(`${url}${API}/skills/activity`).catch((err: Error) => ({ status: 0, err }))
        calls++
        if (r.status !== 200) failures.push(String(r.status))
        if ('text' in r) await r.text()
      }
    }
    const clients = Array.from({ length: 4 }, async () => { await client() })
    for (let i = 1; i <= 3; i++) {
      const key = { id: `rotated-key-${i}`, secret: `rotated-secret-${i}-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefgh=` }
      const before = running.proxy.provider.current()?.fingerprint
      const requestsBefore = sim.tokenRequests
      // CXone accepts the new key before the Secret reaches the pod, as when an operator rotates it.
      sim.options.credentials = { ...sim.options.credentials, accessKeyId: key.id, accessKeySecret: key.secret }
      writeSecrets(secrets, key)
      await until(`token ${i} from the rotated key`, () => running.proxy.provider.current()?.fingerprint !== before)
      expect(sim.tokenRequests).toBe(requestsBefore + 1)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    stop = true
    await Promise.all(clients)
    expect(calls).toBeGreaterThan(20)
    expect(failures).toEqual([])
    const reloads = logged(setup.logs, 'configuration reloaded')
    expect(reloads.length).toBeGreaterThanOrEqual(3)
    expect(reloads[0]).toMatchObject({ outcome: 'applied', changed: ['CXONE_ACCESS_KEY_ID', 'CXONE_ACCESS_KEY_SECRET'] })
    expect(setup.logs.text()).not.toContain('rotated-secret-')
    expect(await (await fetch(`${url}/_proxy/metrics`)).text()).toMatch(/cxone_proxy_config_reloads_total\{outcome="applied"\} [3-9]/)
  })

  it('a rotated key CXone refuses: the current token keeps serving, one error names the secrets, readiness says so once it expires', async () => {
    setup = await start({ lifetimeSec: 4 })
    const { running, url } = setup
    writeSecrets(join(setup.dir, 'secrets'), { id: 'wrong-key', secret: 'wrong-secret=' })
    await until('the refused token request', () => logged(setup?.logs ?? new LogCapture(), 'invalid_grant').length > 0)
    expect((await fetch(`${url}${API}/skills/activity`)).status).toBe(200)
    expect((await fetch(`${url}/_proxy/readyz`)).status).toBe(200)
    const errors = setup.logs.entries.filter((e) => e.level === 50)
    expect(errors).toHaveLength(1)
    expect(String(errors[0]?.msg)).toContain('Check CXONE_ACCESS_KEY_ID and CXONE_ACCESS_KEY_SECRET')
    await until('the old token to expire', async () => (await fetch(`${url}/_proxy/readyz`)).status === 503, 8_000)
    const ready = await (await fetch(`${url}/_proxy/readyz`)).json() as { reason: { code: string } }
    expect(ready.reason.code).toBe('token_rejected')
    void running
  })

  it('a malformed config file is refused with one error naming the file; the previous configuration stays; the fixed file applies', async () => {
    setup = await start()
    const { url } = setup
    const configPath = join(setup.dir, 'proxy.config.json')
    writeFileSync(configPath, '{ "readOnly": tru }')
    await until('the refused reload', () => logged(setup?.logs ?? new LogCapture(), 'configuration reload refused').length > 0)
    const refused = logged(setup.logs, 'configuration reload refused')
    expect(refused).toHaveLength(1)
    expect(refused[0]).toMatchObject({ level: 50, code: 'config_file_invalid', outcome: 'failed' })
    expect(String(refused[0]?.msg)).toContain(configPath)
    // Still forwarded (the simulator answers it), not refused by the proxy.
    expect((await fetch(`${url}${API}/contacts/1/notes`, { method: 'POST', body: '{}' })).headers.get('proxy-status')).toBe(null)
    writeFileSync(configPath, JSON.stringify({ readOnly: true }))
    await until('the applied reload', () => logged(setup?.logs ?? new LogCapture(), 'configuration reloaded').length > 0)
    expect(logged(setup.logs, 'configuration reloaded')[0]).toMatchObject({ outcome: 'applied', changed: ['readOnly'] })
    const post = await fetch(`${url}${API}/contacts/1/notes`, { method: 'POST', body: '{}' })
    expect(post.status).toBe(403)
    expect(await post.json()).toMatchObject({ error: { code: 'forbidden_route' } })
    const metrics = await (await fetch(`${url}/_proxy/metrics`)).text()
    expect(metrics).toContain('cxone_proxy_config_reloads_total{outcome="failed"} 1')
    expect(metrics).toContain('cxone_proxy_config_reloads_total{outcome="applied"} 1')
  })

  it('a change only a restart applies (the admin listener, a limit) is logged as such and left as it is', async () => {
    setup = await start()
    writeFileSync(join(setup.dir, 'proxy.config.json'), JSON.stringify({ readOnly: false, adminPort: 19099, maxBodyBytes: 1000, logLevel: 'warn' }))
    await setup.running.reload('SIGHUP')
    expect(logged(setup.logs, 'only a restart applies it')[0]).toMatchObject({ level: 40, restartNeeded: ['adminPort', 'maxBodyBytes'] })
    expect(setup.running.adminUrl).toBe(undefined)
    expect((await fetch(`${setup.url}${API}/contacts/1/notes`, { method: 'POST', body: 'x'.repeat(2000) })).status).not.toBe(413)
    expect((await fetch(`${setup.url}/_proxy/healthz`)).status).toBe(200)
    // logLevel did apply: the info line about the reload itself is no longer written.
    expect(setup.running.proxy.logger.level).toBe('warn')
  })

  it('a new API URL in the file applies without a restart: the next call goes there, with the bearer', async () => {
    setup = await start()
    const api = await startUpstream()
    try {
      writeFileSync(join(setup.dir, 'proxy.config.json'), JSON.stringify({ readOnly: false, apiUrl: api.url }))
      await until('the applied reload', () => logged(setup?.logs ?? new LogCapture(), 'configuration reloaded').length > 0)
      expect(logged(setup.logs, 'configuration reloaded')[0]).toMatchObject({ outcome: 'applied', changed: ['apiUrl'] })
      expect((await fetch(`${setup.url}${API}/skills/activity`)).status).toBe(200)
      expect(api.seen.map((r) => r.url)).toEqual([`${API}/skills/activity`])
      expect(api.seen[0]?.headers.authorization).toMatch(/^Bearer /)
    } finally {
      await api.close()
    }
  })
})
