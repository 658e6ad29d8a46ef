import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { loadConfig } from '../core/config.js'
import { ConfigError } from '../core/errors.js'
import { startProxy, type RunningProxy } from './server.js'
import { runDemo } from './demo.js'
import { runCheck } from '../check/check.js'
import { runShutdown, runStatus } from './client-commands.js'
import { exitOnQuit } from './quit.js'

export const USAGE = `Usage: cxone-auth-proxy [command] [options]

Commands:
  start            run the proxy (the default)
  check            diagnose the token call step by step (--probe tries other client authentications, --json for a report)
  demo             run the proxy against the built-in CXone simulator
  shutdown         ask the proxy on this machine to drain and exit (POST /_proxy/quitquitquit; exit 3: nothing listens)
  status           print the proxy's status page as text (--json for its JSON)

Options:
  --config <file>  the config file (default ./proxy.config.json, or PROXY_CONFIG)
  --probe          (check) try client_secret_basic (rfc6749, raw) and client_secret_post
  --json           (check, status) print a machine-readable report
  --port <n>       (shutdown, status) the proxy's port (default PROXY_PORT or the config file's, else 8080)
  -h, --help       this help
  -v, --version    the version

Secrets come from the environment only: CXONE_CLIENT_ID, CXONE_CLIENT_SECRET, CXONE_ACCESS_KEY_ID,
CXONE_ACCESS_KEY_SECRET (each also as NAME_FILE). See README.md for every setting.`

export function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

export interface CliIO {
  env: NodeJS.ProcessEnv
  stdout: (line: string) => void
  stderr: (line: string) => void
}

/** Installs SIGTERM/SIGINT handlers that drain the proxy and exit 0. */
export function exitOnSignals (stop: (reason: string) => Promise<void>): void {
  const handler = (signal: NodeJS.Signals): void => {
    process.removeListener('SIGTERM', handler)
    process.removeListener('SIGINT', handler)
    stop(signal).then(() => process.exit(0), () => process.exit(1))
  }
  process.on('SIGTERM', handler)
  process.on('SIGINT', handler)
}

/** Runs a command; resolves to an exit code, or to undefined while a server keeps running. */
export async function runCli (argv: string[], io: CliIO): Promise<number | undefined> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        probe: { type: 'boolean' },
        json: { type: 'boolean' },
        port: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' }
      }
    })
  } catch (err) {
    io.stderr(`cxone-auth-proxy: ${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help === true) { io.stdout(USAGE); return 0 }
  if (values.version === true) { io.stdout(version()); return 0 }
  const command = positionals[0] ?? 'start'
  if (positionals.length > 1 || !['start', 'check', 'demo', 'shutdown', 'status'].includes(command)) {
    io.stderr(`cxone-auth-proxy: unknown command "${positionals.join(' ')}": use start, check, demo, shutdown or status\n\n${USAGE}`)
    return 2
  }
  try {
    if (command === 'check') {
      return await runCheck({ env: io.env, configPath: values.config, probe: values.probe === true, json: values.json === true, out: io.stdout })
    }
    if (command === 'shutdown' || command === 'status') {
      return await (command === 'shutdown' ? runShutdown : runStatus)({ env: io.env, configPath: values.config, port: values.port, json: values.json === true, out: io.stdout, err: io.stderr })
    }
    let running: RunningProxy | Awaited<ReturnType<typeof runDemo>>
    if (command === 'demo') {
      running = await runDemo({ env: io.env, configPath: values.config, out: io.stdout })
    } else {
      running = await startProxy(loadConfig({ env: io.env, configPath: values.config }), { env: io.env })
    }
    exitOnSignals(running.shutdown)
    exitOnQuit(running.quitRequested, running.shutdown)
    return undefined
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`cxone-auth-proxy: ${err.message}`)
      return 2
    }
    io.stderr(`cxone-auth-proxy: ${(err as Error).message}`)
    if (io.env.LOG_LEVEL === 'debug' || io.env.LOG_LEVEL === 'trace') io.stderr(String((err as Error).stack))
    return 1
  }
}
