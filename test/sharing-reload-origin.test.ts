import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { createLogger } from '../src/core/log.js'
import { startProxy, type RunningProxy } from '../src/runtime/server.js'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { API, LogCapture, simulatorEnv } from './helpers/harness.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

// Issue 24 #8: after a reload that moves apiUrl, a new request must not join a call still in flight to the old
// host: the origin is part of what makes two reads the same (and of the cache's key).

const HOLD_MS = 800
let running: RunningProxy | undefined
let sim: CxoneSimulator | undefined
const apis: Upstream[] = []
let dir: string | undefined

afterEach(async () => {
  await running?.shutdown('test over')
  await sim?.stop()
  for (const a of apis.splice(0)) await a.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  running = undefined
  sim = undefined
  dir = undefined
})

/** An API that answers its own name after HOLD_MS. */
async function namedApi (name: string): Promise<Upstream> {
  const api = await startUpstream((_req, res) => {
    setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ host: name })) }, HOLD_MS)
  })
  apis.push(api)
  return api
}

describe('a reload that moves apiUrl', () => {
  it.each([[[]], [[{ route: 'GET /inContactAPI/services/*/skills/**', ttlMs: 60_000 }]]])('sends a new request to the new host, never into a flight to the old one (cache rules %j)', async (cache) => {
    const [oldApi, newApi] = [await namedApi('old'), await namedApi('new')]
    sim = await new CxoneSimulator().start()
    dir = mkdtempSync(join(tmpdir(), 'reload-origin-'))
    const configPath = join(dir, 'proxy.config.json')
    writeFileSync(configPath, JSON.stringify({ apiUrl: oldApi.url, cache }))
    const env = simulatorEnv(sim) as Record<string, string>
    const load = (): ReturnType<typeof loadConfig> => loadConfig({ env, configPath })
    const logs = new LogCapture()
    running = await startProxy(load(), { env: {}, logger: createLogger('info', logs) }, { load, env, configPath })
    await running.proxy.provider.getToken()
    const url = `${running.url}${API}/skills/activity`
    const first = fetch(url).then(async (r) => await r.json() as { host: string })
    while (oldApi.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    writeFileSync(configPath, JSON.stringify({ apiUrl: newApi.url, cache }))
    await running.reload('test')
    expect(logs.entries.filter((e) => String(e.msg).startsWith('configuration reloaded')).map((e) => e.changed)).toEqual([['apiUrl']])
    const second = await (await fetch(url)).json() as { host: string }
    expect(await first).toEqual({ host: 'old' })
    expect(second).toEqual({ host: 'new' })
    expect(newApi.seen).toHaveLength(1)
    // The old host's answer, arriving after the reload, is not served from the cache either.
    expect(await (await fetch(url)).json()).toEqual({ host: 'new' })
  })
})
