import { startCli, type RunningCli } from './cli.js'
import { simulatorEnv } from './harness.js'
import type { CxoneSimulator } from '../../src/simulator/simulator.js'

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
export async function startReplicas (sim: CxoneSimulator, redisUrl: string, count: number, env: Record<string, string> = {}): Promise<Replica[]> {
  const clis = Array.from({ length: count }, () => startCli(['start'], simulatorEnv(sim, { REDIS_URL: redisUrl, LOG_LEVEL: 'info', ...env })))
  try {
    return await Promise.all(clis.map(async (cli) => ({ cli, url: listeningUrl(await cli.waitFor(/listening on/, 30_000)) })))
  } catch (err) {
    await stopReplicas(clis.map((cli) => ({ cli, url: '' })))
    throw err
  }
}

export async function stopReplicas (replicas: Replica[]): Promise<void> {
  await Promise.all(replicas.map(async (r) => await r.cli.stop('SIGTERM')))
}

function listeningUrl (line: string): string {
  return (JSON.parse(line) as { url: string }).url
}

/** A metric's value in Prometheus text (0 when absent). */
export function metric (text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}
