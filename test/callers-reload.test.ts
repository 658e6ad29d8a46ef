import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { createLogger } from '../src/core/log.js'
import { startProxy, type RunningProxy } from '../src/runtime/server.js'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { API, LogCapture, simulatorEnv } from './helpers/harness.js'

const OLD = 'wallboard-old-key-0123456789'
const NEW = 'wallboard-new-key-9876543210'

describe('callers and their keys reload without a restart', () => {
  let sim: CxoneSimulator
  let running: RunningProxy
  let dir: string
  let keys: string
  let configPath: string
  const logs = new LogCapture()
  beforeAll(async () => {
    sim = await new CxoneSimulator().start()
    dir = mkdtempSync(join(tmpdir(), 'callers-reload-'))
    keys = join(dir, 'keys')
    mkdirSync(keys)
    writeFileSync(join(keys, 'wallboard'), `${OLD}\n`)
    configPath = join(dir, 'proxy.config.json')
    writeFileSync(configPath, JSON.stringify({ callers: { wallboard: {} } }))
    const env = simulatorEnv(sim, { PROXY_CONFIG: configPath, PROXY_CALLER_KEYS_DIR: keys })
    const load = (): ReturnType<typeof loadConfig> => loadConfig({ env, configPath })
    running = await startProxy(load(), { env: {}, logger: createLogger('info', logs) }, { load, env, configPath })
  })
  afterAll(async () => {
    await running.shutdown('test over')
    await sim.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const status = async (key: string, method = 'GET'): Promise<number> => {
    const res = await fetch(`${running.url}${API}/skills/activity`, { method, headers: { 'x-proxy-key': key } })
    await res.arrayBuffer()
    return res.status
  }

  it('a key rotated by replacing its file in PROXY_CALLER_KEYS_DIR works at once, and the old one stops working', async () => {
    expect(await status(OLD)).toBe(200)
    expect(await status(NEW)).toBe(401)
    writeFileSync(join(dir, 'next'), `${NEW}\n`)
    renameSync(join(dir, 'next'), join(keys, 'wallboard'))
    await expect.poll(async () => await status(NEW), { timeout: 5_000 }).toBe(200)
    expect(await status(OLD)).toBe(401)
    const line = logs.entries.find((e) => String(e.msg).startsWith('configuration reloaded'))
    expect(line?.changed).toEqual(['callers'])
    expect(logs.text()).not.toContain(NEW)
  })

  it('a caller\'s policy reloads: read-only from the next request on', async () => {
    expect(await status(NEW, 'POST')).not.toBe(403)
    writeFileSync(configPath, JSON.stringify({ callers: { wallboard: { readOnly: true } } }))
    await expect.poll(async () => await status(NEW, 'POST'), { timeout: 5_000 }).toBe(403)
  })

  it('a new socket path needs a restart, and the reload says so', async () => {
    writeFileSync(configPath, JSON.stringify({ callers: { wallboard: { readOnly: true, socket: join(dir, 'wb.sock') } } }))
    await running.reload('SIGHUP')
    const warn = logs.entries.find((e) => Array.isArray(e.restartNeeded))
    expect(warn?.restartNeeded).toEqual(['callers.socket'])
  })
})
