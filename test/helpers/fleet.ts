import { startCli, type RunningCli } from './cli.js'
import { LogCapture, simulatorEnv } from './harness.js'
import { loadConfig } from '../../src/core/config.js'
import { createLogger } from '../../src/core/log.js'
import { startProxy, type RunningProxy } from '../../src/runtime/server.js'
import { afterEach, beforeEach } from 'vitest'
import { CxoneSimulator } from '../../src/simulator/simulator.js'
import { startRedis, type RedisServer } from './redis-server.js'

/**
 * The tests share 2 cores with other work: a Redis answer can take longer than the 50 ms default, which would
 * (correctly) send a replica to the token endpoint on its own and make the counts meaningless.
 */
export const FLEET_TEST_ENV = { PROXY_REDIS_COMMAND_TIMEOUT_MS: '1000' }

export interface Replica {
  cli: RunningCli
  url: string
}

/** Spawns `count` proxy processes (the built CLI) against one simulator and one Redis; each its own process. */
/** Every process started here, so that a start cut short by a hook's timeout still ends in stopReplicas. */
const spawned = new Set<RunningCli>()

export async function startReplicas (sim: CxoneSimulator, redisUrl: string, count: number, env: Record<string, string> = {}): Promise<Replica[]> {
  const clis = Array.from({ length: count }, () => startCli(['start'], simulatorEnv(sim, { REDIS_URL: redisUrl, LOG_LEVEL: 'info', ...env })))
  for (const cli of clis) spawned.add(cli)
  try {
    return await Promise.all(clis.map(async (cli) => ({ cli, url: listeningUrl(await cli.waitFor(/listening on/, 30_000)) })))
  } catch (err) {
    await stopReplicas(clis.map((cli) => ({ cli, url: '' })))
    throw err
  }
}

/** Stops these replicas, and any other this file started that is still running. */
export async function stopReplicas (replicas: Replica[]): Promise<void> {
  const all = new Set([...replicas.map((r) => r.cli), ...spawned])
  spawned.clear()
  await Promise.all([...all].map(async (cli) => await cli.stop('SIGTERM')))
}

function listeningUrl (line: string): string {
  return (JSON.parse(line) as { url: string }).url
}

/**
 * A metric's value in Prometheus text, summed over its label sets (0 when absent): counters start at 0 for every
 * label value known in advance (each Redis operation), so the first sample alone says nothing.
 */
export function metric (text: string, name: string): number {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0)
}

export interface InProcessReplica {
  running: RunningProxy
  url: string
  logs: LogCapture
  metrics: () => Promise<string>
  close: () => Promise<void>
}

/** One proxy in this process on the fleet's Redis: its logs and provider can be read directly. */
export async function startReplica (sim: CxoneSimulator, redisUrl: string, env: Record<string, string> = {}): Promise<InProcessReplica> {
  const config = loadConfig({ env: simulatorEnv(sim, { ...FLEET_TEST_ENV, ...env }), skipDefaultFile: true })
  const logs = new LogCapture()
  const running = await startProxy(config, { env: { REDIS_URL: redisUrl }, logger: createLogger(config.settings.logLevel, logs) })
  return {
    running,
    url: running.url,
    logs,
    metrics: async () => await running.proxy.metrics.text(),
    close: async () => { await running.proxy.close() }
  }
}

export interface FleetTestbed {
  readonly redis: RedisServer
  readonly sim: CxoneSimulator
  /** Starts an in-process replica on this Redis and simulator; it is closed after the test. */
  replica: (env?: Record<string, string>) => Promise<InProcessReplica>
}

/** A fresh redis-server and CXone simulator for each test of the describe block that calls it, all stopped after. */
export function fleetTestbed (): FleetTestbed {
  let redis: RedisServer | undefined
  let sim: CxoneSimulator | undefined
  const replicas: InProcessReplica[] = []
  beforeEach(async () => {
    redis = await startRedis()
    sim = await new CxoneSimulator().start()
  })
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map(async (r) => { await r.close() }))
    await sim?.stop()
    await redis?.stop()
  })
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is started by beforeEach: use it inside a test`)
    return value
  }
  return {
    get redis () { return started(redis, 'redis') },
    get sim () { return started(sim, 'the simulator') },
    replica: async (env = {}) => {
      const r = await startReplica(started(sim, 'the simulator'), started(redis, 'redis').url, env)
      replicas.push(r)
      return r
    }
  }
}
