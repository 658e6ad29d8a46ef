import { Writable } from 'node:stream'
import { loadConfig, type Config } from '../../src/core/config.js'
import { createLogger } from '../../src/core/log.js'
import { startProxy, type RunningProxy } from '../../src/runtime/server.js'
import { CxoneSimulator, DEMO_CREDENTIALS, type SimulatorOptions } from '../../src/simulator/simulator.js'
import type { AppDeps } from '../../src/runtime/compose.js'
import { startUpstream, type Handler, type Upstream } from './upstream.js'
import { closedPort } from './run-process.js'

/** Collects pino's JSON lines so tests can assert on what was logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = []
  override _write (chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.lines.push(line)
    cb()
  }

  get entries (): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  }

  text (): string {
    return this.lines.join('\n')
  }
}

export function simulatorEnv (sim: CxoneSimulator, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    CXONE_ISSUER: sim.issuer,
    CXONE_CLIENT_ID: DEMO_CREDENTIALS.clientId,
    CXONE_CLIENT_SECRET: DEMO_CREDENTIALS.clientSecret,
    CXONE_ACCESS_KEY_ID: DEMO_CREDENTIALS.accessKeyId,
    CXONE_ACCESS_KEY_SECRET: DEMO_CREDENTIALS.accessKeySecret,
    PROXY_PORT: '0',
    LOG_LEVEL: 'info',
    ...extra
  }
}

export interface Stack {
  sim: CxoneSimulator
  running: RunningProxy
  config: Config
  /** The proxy's origin, e.g. http://127.0.0.1:39123 */
  url: string
  logs: LogCapture
  close: () => Promise<void>
}

export interface StackOptions {
  sim?: SimulatorOptions
  /** Extra environment (overrides the simulator's defaults). */
  env?: Record<string, string>
  deps?: Omit<AppDeps, 'logger'>
  /** Wait for the first token before returning (default true). */
  waitForToken?: boolean
}

/** The CXone simulator and the real proxy on loopback, port 0, logs captured. */
export async function startStack (opts: StackOptions = {}): Promise<Stack> {
  const sim = await new CxoneSimulator(opts.sim).start()
  const config = loadConfig({ env: simulatorEnv(sim, opts.env), skipDefaultFile: true })
  const logs = new LogCapture()
  const running = await startProxy(config, { ...opts.deps, env: {}, logger: createLogger(config.settings.logLevel, logs) })
  if (opts.waitForToken !== false) await running.proxy.provider.getToken()
  return {
    sim,
    running,
    config,
    url: running.url,
    logs,
    close: async () => {
      await running.proxy.close()
      await sim.stop()
    }
  }
}

export const API = '/inContactAPI/services/v31.0'

/** The stack with a plain loopback server as the CXone API (CXONE_API_URL), recording what it receives. */
export async function startApiStack (handler?: Handler, env: Record<string, string> = {}, deps?: StackOptions['deps']): Promise<Stack & { api: Upstream }> {
  const api = await startUpstream(handler)
  const stack = await startStack({ env: { CXONE_API_URL: api.url, ...env }, deps })
  return {
    ...stack,
    api,
    close: async () => {
      await stack.close()
      await api.close()
    }
  }
}

/** The stack whose discovered API origin is a closed loopback port: every forwarded call is refused. */
export async function startDeadApiStack (): Promise<Stack & { deadOrigin: string }> {
  const deadOrigin = `http://127.0.0.1:${await closedPort()}`
  return { ...await startStack({ sim: { apiEndpoint: deadOrigin } }), deadOrigin }
}
