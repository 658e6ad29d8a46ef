/**
 * Reload without a restart: the config file and every `*_FILE` secret are watched, SIGHUP forces a reload. Kubernetes
 * updates a mounted Secret by swapping a `..data` symlink, so the folders are watched (not the files), events are
 * debounced, and what counts is the files' content, never their timestamps.
 */
import { createHash } from 'node:crypto'
import { watch, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { Logger } from 'pino'
import { systemClock, type Clock } from '../core/clock.js'
import { CALLER_KEYS_DIR_VAR, callerKeyFiles } from '../core/caller-keys.js'
import { ConfigError } from '../core/errors.js'
import type { Config } from '../core/config.js'
import { CONFIG_FILE_VAR, DEFAULT_CONFIG_FILE, PROFILE_SECRET_VARS, SECRET_VARS } from '../core/settings.js'
import type { Metrics } from '../ops/metrics.js'
import type { ProxyApp } from './compose.js'

/** Changes within this time are one reload (a Secret update touches several files). */
export const RELOAD_DEBOUNCE_MS = 250

export interface Reloader {
  /** Reloads now (SIGHUP, or a watched file changed); resolves when it is applied or refused. */
  reload: (reason: string) => Promise<void>
  close: () => void
}

export interface ReloaderOptions {
  proxy: Pick<ProxyApp, 'reload'>
  metrics: Pick<Metrics, 'reload'>
  logger: Pick<Logger, 'info' | 'warn' | 'error'>
  /** Reads the configuration again, as at start (throws ConfigError). */
  load: () => Config
  env: NodeJS.ProcessEnv
  configPath: string | undefined
  cwd?: string
  /** Times the debounce (default: the system clock). */
  clock?: Clock
}

/** A profile's secret file variable: a name of PROFILE_SECRET_VARS with the profile in place of <NAME>, then _FILE. */
const PROFILE_SECRET_FILE = new RegExp(`^(${Object.values(PROFILE_SECRET_VARS).map((v) => v.replace('<NAME>', '[A-Z0-9_]+')).join('|')})_FILE$`)

/** The files a reload reads: the config file and every secret given as NAME_FILE. */

export function watchedFiles (env: NodeJS.ProcessEnv, configPath: string | undefined, cwd = process.cwd()): string[] {
  const config = resolve(cwd, configPath ?? env[CONFIG_FILE_VAR] ?? DEFAULT_CONFIG_FILE)
  // The default's secret files, and every profile's (PROFILE_SECRET_FILE).
  const names = Object.keys(env).filter((k) => PROFILE_SECRET_FILE.test(k) || Object.values(SECRET_VARS).some((n) => k === `${n}_FILE`))
  const secrets = names.sort().map((name) => env[name]).filter((p): p is string => p !== undefined && p.trim() !== '').map((p) => resolve(cwd, p))
  return [config, ...secrets]
}

async function contentHash (files: readonly string[]): Promise<string> {
  const h = createHash('sha256')
  for (const f of files) {
    h.update(f).update('\0')
    h.update(await readFile(f).catch(() => Buffer.from('\0missing\0'))).update('\0')
  }
  return h.digest('hex')
}

export async function startReloader (o: ReloaderOptions): Promise<Reloader> {
  const files = watchedFiles(o.env, o.configPath, o.cwd)
  // issue 22: the callers' key files, listed again each time (a file added to PROXY_CALLER_KEYS_DIR counts).
  const keysDir = o.env[CALLER_KEYS_DIR_VAR]
  const all = (): string[] => [...files, ...callerKeyFiles(o.env, o.cwd)]
  let applied = await contentHash(all())
  let running: Promise<void> = Promise.resolve()

  const reloadNow = async (reason: string, force: boolean): Promise<void> => {
    const hash = await contentHash(all())
    if (!force && hash === applied) return
    let next: Config
    try {
      next = o.load()
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      o.metrics.reload('failed')
      // The previous configuration stays in force; the next change is tried again.
      o.logger.error({ reason, code: err.code, outcome: 'failed' }, `configuration reload refused, the previous configuration stays in force: ${err.message}`)
      applied = hash
      return
    }
    applied = hash
    const result = o.proxy.reload(next)
    o.metrics.reload(result.applied.length > 0 ? 'applied' : 'unchanged')
    if (result.restartNeeded.length > 0) {
      o.logger.warn({ reason, restartNeeded: result.restartNeeded }, `configuration changed where only a restart applies it (${result.restartNeeded.join(', ')}): left as it is until the proxy restarts`)
    }
    o.logger.info({ reason, outcome: result.applied.length > 0 ? 'applied' : 'unchanged', changed: result.applied }, result.applied.length > 0 ? `configuration reloaded: ${result.applied.join(', ')}` : 'configuration reloaded: nothing to change')
  }
  // One reload at a time, in order.
  const reload = async (reason: string, force = true): Promise<void> => {
    running = running.then(async () => { await reloadNow(reason, force) }, async () => { await reloadNow(reason, force) })
    await running
  }

  const clock = o.clock ?? systemClock
  let timer: unknown
  const onEvent = (): void => {
    if (timer !== undefined) clock.clearTimeout(timer)
    timer = clock.setTimeout(() => {
      timer = undefined
      reload('file changed', false).catch((err: unknown) => { o.logger.error({ err }, 'configuration reload failed') })
    }, RELOAD_DEBOUNCE_MS)
  }
  const watchers: FSWatcher[] = []
  const dirs = [...all().map((f) => dirname(f)), ...(keysDir === undefined || keysDir.trim() === '' ? [] : [resolve(o.cwd ?? process.cwd(), keysDir)])]
  for (const dir of new Set(dirs)) {
    try {
      const w = watch(dir, { persistent: false }, onEvent)
      w.on('error', () => { /* a folder that goes away stops being watched; SIGHUP still reloads */ })
      watchers.push(w)
    } catch {
      o.logger.warn({ dir }, `cannot watch ${dir} for changes: send SIGHUP to reload`)
    }
  }
  return {
    reload: async (reason) => { await reload(reason, true) },
    close: () => {
      if (timer !== undefined) clock.clearTimeout(timer)
      for (const w of watchers) w.close()
    }
  }
}
