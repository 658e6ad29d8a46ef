import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { runCli, startCli, type RunningCli } from './helpers/cli.js'
import { simulatorEnv } from './helpers/harness.js'
import { closedPort } from './helpers/run-process.js'

async function portOf (proxy: RunningCli): Promise<string> {
  const { url } = JSON.parse(await proxy.waitFor(/listening on/)) as { url: string }
  return new URL(url).port
}

describe('cxone-auth-proxy shutdown', () => {
  let sim: CxoneSimulator
  let dir: string
  beforeAll(async () => {
    sim = await new CxoneSimulator().start()
    dir = mkdtempSync(join(tmpdir(), 'shutdown-command-'))
  })
  afterAll(async () => {
    await sim.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('asks the proxy on --port to drain; the proxy exits 0', async () => {
    const proxy = startCli(['start'], simulatorEnv(sim))
    try {
      const port = await portOf(proxy)
      const r = await runCli(['shutdown', '--port', port])
      expect(r.stderr).toBe('')
      expect(r.stdout).toBe(`cxone-auth-proxy at http://127.0.0.1:${port} is shutting down: requests in flight may finish for up to 30000 ms, then it exits\n`)
      expect(r.code).toBe(0)
      const result = await proxy.stop('SIGCONT')
      expect(result.code).toBe(0)
      expect(result.stdout).toContain('"reason":"POST /_proxy/quitquitquit"')
    } finally {
      await proxy.stop('SIGKILL')
    }
  }, 40_000)

  it('sends the first inbound key from PROXY_API_KEYS_FILE, and reads the port from PROXY_PORT', async () => {
    const keys = join(dir, 'keys')
    writeFileSync(keys, 'first-key\nsecond-key\n')
    const port = String(await closedPort())
    const env = simulatorEnv(sim, { PROXY_PORT: port, PROXY_API_KEYS_FILE: keys })
    const proxy = startCli(['start'], env)
    try {
      await portOf(proxy)
      // A caller with only the second key: the proxy refuses, the message says which key this command sends.
      const wrong = await runCli(['shutdown'], { PROXY_PORT: port, PROXY_API_KEYS: 'not-a-key' })
      expect(wrong.code).toBe(1)
      expect(wrong.stderr).toBe(`cxone-auth-proxy: shutdown refused by the proxy at http://127.0.0.1:${port}: proxy_auth_required: this proxy needs a key: send one of PROXY_API_KEYS as the X-Proxy-Key header (this command sent the first of PROXY_API_KEYS / PROXY_API_KEYS_FILE, which the proxy does not accept: use the proxy's keys)\n`)
      const none = await runCli(['shutdown'], { PROXY_PORT: port })
      expect(none.code).toBe(1)
      expect(none.stderr).toContain('(this command sends the first of PROXY_API_KEYS / PROXY_API_KEYS_FILE: set one of them as for the proxy)')
      expect(proxy.child.exitCode).toBeNull()

      const r = await runCli(['shutdown'], { PROXY_PORT: port, PROXY_API_KEYS_FILE: keys })
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      expect((await proxy.stop('SIGCONT')).code).toBe(0)
    } finally {
      await proxy.stop('SIGKILL')
    }
  }, 60_000)

  it('says so, with exit code 3, when nothing listens', async () => {
    const port = await closedPort()
    const r = await runCli(['shutdown', '--port', String(port)])
    expect(r.code).toBe(3)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(`cxone-auth-proxy: nothing listens on http://127.0.0.1:${port}: the proxy is not running there (already stopped?) or listens on another port; pass --port N\n`)
  })

  it('refuses a port it cannot call', { timeout: 40_000 }, async () => {
    const bad = await runCli(['shutdown', '--port', 'eighty'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe('cxone-auth-proxy: --port eighty is not valid: use the port the proxy listens on, a number from 1 to 65535\n')
    const zero = await runCli(['shutdown'], { PROXY_PORT: '0' })
    expect(zero.code).toBe(2)
    expect(zero.stderr).toBe('cxone-auth-proxy: the configured port is 0 (any free port), so the port to call is not known: pass --port with the port from the proxy\'s "listening on" log line\n')
  })
})
