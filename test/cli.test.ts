import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { runCli, startCli } from './helpers/cli.js'
import { simulatorEnv } from './helpers/harness.js'

describe('the command line', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator().start() })
  afterAll(async () => { await sim.stop() })

  it('--help, help and --version', async () => {
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: cxone-auth-proxy [command]')
    const command = await runCli(['help'])
    expect(command).toMatchObject({ code: 0, stdout: help.stdout, stderr: '' })
    const version = await runCli(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('a missing secret stops start-up with one line that names it, exit 2, no stack trace', async () => {
    const r = await runCli(['start'], { CXONE_CLIENT_ID: 'id' })
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toEqual(['cxone-auth-proxy: CXONE_CLIENT_SECRET is not set: set it, or CXONE_CLIENT_SECRET_FILE, or run `npm run demo` to try the proxy against the simulator'])
  })

  it('an unreadable config file is named, with the flag it came from', async () => {
    const r = await runCli(['start', '--config', 'package-lock.json.missing'], simulatorEnv(sim))
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/config file .*package-lock\.json\.missing \(from --config\) cannot be read \(ENOENT\)/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('an unknown command or flag is refused with the usage', async () => {
    const r = await runCli(['serve'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('unknown command "serve"')
    expect((await runCli(['--bogus'])).code).toBe(2)
  })

  it('a busy port gets a clear message', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    const r = await runCli(['start'], simulatorEnv(sim, { PROXY_PORT: String(port) }))
    await new Promise<void>((resolve) => blocker.close(() => { resolve() }))
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(`cxone-auth-proxy: PROXY_PORT=${port} is already in use on 127.0.0.1: stop the other process or choose another port with PROXY_PORT`)
  })

  it('start logs the effective settings and a held token by fingerprint, and exits 0 on SIGTERM', async () => {
    const proxy = startCli(['start'], simulatorEnv(sim))
    const listening = JSON.parse(await proxy.waitFor(/listening on/)) as { settings: Record<string, { value: unknown, from: string }> }
    expect(listening.settings.issuer).toEqual({ value: sim.issuer, from: 'env' })
    expect(listening.settings.port).toEqual({ value: 0, from: 'env' })
    expect(listening.settings.grantType).toEqual({ value: 'password', from: 'derived' })
    const discovered = JSON.parse(await proxy.waitFor(/token endpoint discovered/)) as { tokenUrl: unknown }
    expect(discovered.tokenUrl).toEqual({ value: `${sim.origin}/auth/token`, from: 'discovered' })
    const held = JSON.parse(await proxy.waitFor(/token obtained/)) as { token: string }
    const api = JSON.parse(await proxy.waitFor(/API origin discovered/)) as { apiUrl: unknown }
    expect(api.apiUrl).toEqual({ value: sim.origin, from: 'discovered' })
    expect(held.token).toMatch(/^[0-9a-f]{12}$/)
    const result = await proxy.stop('SIGTERM')
    expect(result.code).toBe(0)
    for (const token of sim.issuedTokens()) expect(result.stdout).not.toContain(token)
  })
})
