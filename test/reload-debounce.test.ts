import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig, type Config } from '../src/core/config.js'
import { RELOAD_DEBOUNCE_MS, startReloader } from '../src/runtime/reload.js'
import { ManualClock, settle } from './helpers/manual-clock.js'

/** A burst of file changes (a Kubernetes Secret update touches several files) is one reload, timed by the root's clock. */
const dir = mkdtempSync(join(tmpdir(), 'cxone-reload-debounce-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

async function until (what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((resolve) => setTimeout(resolve, 25))
  if (!ok()) throw new Error(`timed out waiting for ${what}`)
}

describe('the reload watcher', () => {
  it('waits RELOAD_DEBOUNCE_MS of the clock after the last change, then reloads once', async () => {
    const path = join(dir, 'proxy.config.json')
    writeFileSync(path, JSON.stringify({ readOnly: false }))
    const env = { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret' }
    const clock = new ManualClock()
    const reloads: Config[] = []
    const reloader = await startReloader({
      proxy: { reload: (next) => { reloads.push(next); return { applied: ['readOnly'], restartNeeded: [] } } },
      metrics: { reload: () => {} },
      logger: { info: () => {}, warn: () => {}, error: () => {} },
      load: () => loadConfig({ env, configPath: path }),
      env,
      configPath: path,
      clock
    })
    try {
      writeFileSync(path, JSON.stringify({ readOnly: true }))
      await until('the watcher to see the change', () => clock.pendingTimers > 0)
      await clock.advance(RELOAD_DEBOUNCE_MS - 1)
      await settle()
      expect(reloads).toHaveLength(0)
      await clock.advance(1)
      await until('the reload', () => reloads.length > 0)
      expect(reloads).toHaveLength(1)
      expect(reloads[0]?.settings.readOnly).toBe(true)
    } finally {
      reloader.close()
    }
  })
})
