import { readFileSync } from 'node:fs'
import { constants } from 'node:os'
import { parseArgs } from 'node:util'
import type { Logger } from 'pino'
import { loadConfig } from '../core/config.js'
import { SETTINGS } from '../core/settings.js'
import { ConfigError } from '../core/errors.js'
import { startProxy, type RunningProxy } from './server.js'
import { exitOnQuit } from './quit.js'

export const USAGE = `Usage: cxone-auth-proxy [command] [options]

Commands:
  start            run the proxy (the default)
  check            diagnose the token call step by step (--probe tries other client authentications, --json for a report,
                   --profile <name> or --all for the business units of the config file's "profiles")
  demo             run the proxy against the built-in CXone simulator
  shutdown         ask the proxy on this machine to drain and exit (POST /_proxy/quitquitquit; exit 3: nothing listens)
  status           print the proxy's status page as text (--json for its JSON)
  help             this help

Options:
  --config <file>  the config file (default ./proxy.config.json, or PROXY_CONFIG)
  --probe          (check) try client_secret_basic (rfc6749, raw) and client_secret_post
  --profile <name> (check) diagnose that profile (default: the top-level settings, the profile named default)
  --all            (check) diagnose every profile in turn; exit non-zero if any fails
  --json           (check, status) print a machine-readable report
  --route <path>   (check) which upstream a path goes to, e.g. --route /dfo/3.0/contacts
  --caller <name>  (check) with --route "GET /path": may that named caller make the call, and why (docs/callers.md)
  --port <n>       (shutdown, status) the proxy's port (default PROXY_PORT or the config file's, else 8080)
  -h, --help       this help
  -v, --version    the version

Secrets come from the environment only: CXONE_CLIENT_ID, CXONE_CLIENT_SECRET, CXONE_ACCESS_KEY_ID,
CXONE_ACCESS_KEY_SECRET, PROXY_API_KEYS (each also as NAME_FILE); a profile's as CXONE_<NAME>_CLIENT_ID,
CXONE_<NAME>_CLIENT_SECRET, CXONE_<NAME>_ACCESS_KEY_ID, CXONE_<NAME>_ACCESS_KEY_SECRET, PROXY_<NAME>_API_KEYS (<NAME>:
the profile's name upper-cased, - as _). Every setting: docs/configuration.md.`

export function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

export interface CliIO {
  env: NodeJS.ProcessEnv
  stdout: (line: string) => void
  stderr: (line: string) => void
}

/**
 * A stop signal this soon after the first is the same request delivered twice: Ctrl-C under `npm start` reaches
 * node from the terminal and again from npm, which forwards SIGINT to its child.
 */
export const REPEAT_SIGNAL_WINDOW_MS = 1_000

/**
 * Signal handling for a running proxy. SIGTERM/SIGINT drain and exit 0; a second one during the drain (after
 * REPEAT_SIGNAL_WINDOW_MS) stops at once (waiting callers get 503 shutting_down) and exits 128 + the signal's number, as a shell reports a kill.
 * SIGHUP reloads the configuration and the secret files. SIGUSR1 would open Node's inspector on 127.0.0.1:9229 (code
 * execution for any local process): a listener keeps Node from doing so.
 */
export function exitOnSignals (running: Pick<RunningProxy, 'shutdown' | 'stopNow' | 'reload'>, log: Pick<Logger, 'info' | 'warn'>): void {
  let drainingSince: number | undefined
  let stopping = false
  const onStop = (signal: NodeJS.Signals): void => {
    if (drainingSince === undefined) {
      drainingSince = performance.now()
      running.shutdown(signal).then(() => process.exit(0), () => process.exit(1))
      return
    }
    if (performance.now() - drainingSince < REPEAT_SIGNAL_WINDOW_MS) return
    const code = 128 + (constants.signals[signal] ?? 0)
    if (stopping) process.exit(code)
    stopping = true
    log.warn({ signal, exitCode: code }, `${signal} received during the drain: stopping now`)
    running.stopNow(signal).finally(() => process.exit(code))
  }
  process.on('SIGTERM', onStop)
  process.on('SIGINT', onStop)
  process.on('SIGHUP', () => {
    running.reload('SIGHUP').catch((err: unknown) => { log.warn({ err }, 'reload after SIGHUP failed') })
  })
  if (process.platform !== 'win32') {
    process.on('SIGUSR1', () => { log.warn({ signal: 'SIGUSR1' }, 'SIGUSR1 received: the inspector stays closed (start node with --inspect to debug); ignoring') })
  }
}

/**
 * Under `npm start` / `npm run demo` the proxy is a grandchild of npm (npm → sh -c → node), and a SIGTERM to npm
 * alone does not reach it (issue 16): it would keep listening, orphaned. So when started by npm, stop as on SIGTERM
 * once the parent goes away (the process is re-parented, so `process.ppid` changes).
 */
export function exitWithParent (stop: (reason: string) => Promise<void>, intervalMs = PARENT_POLL_MS): void {
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    stop('parent exited').then(() => process.exit(0), () => process.exit(1))
  }, intervalMs)
  timer.unref()
}

const PARENT_POLL_MS = 1000

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
        profile: { type: 'string' },
        all: { type: 'boolean' },
        json: { type: 'boolean' },
        port: { type: 'string' },
        route: { type: 'string' },
        caller: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' }
      }
    })
  } catch (err) {
    io.stderr(`cxone-auth-proxy: ${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help === true || (positionals.length === 1 && positionals[0] === 'help')) { io.stdout(USAGE); return 0 }
  if (values.version === true) { io.stdout(version()); return 0 }
  const command = positionals[0] ?? 'start'
  if (positionals.length > 1 || !['start', 'check', 'demo', 'shutdown', 'status'].includes(command)) {
    io.stderr(`cxone-auth-proxy: unknown command "${positionals.join(' ')}": use start, check, demo, shutdown, status or help\n\n${USAGE}`)
    return 2
  }
  try {
    if (command === 'check') {
      // Each verb loads only what it uses: `start` never loads the doctor, the simulator or the client commands.
      const { runCheck } = await import('../check/check.js')
      return await runCheck({ env: io.env, configPath: values.config, probe: values.probe === true, json: values.json === true, route: values.route, caller: values.caller, profile: values.profile, all: values.all === true, out: io.stdout })
    }
    if (command === 'shutdown' || command === 'status') {
      const { runShutdown, runStatus } = await import('./client-commands.js')
      return await (command === 'shutdown' ? runShutdown : runStatus)({ env: io.env, configPath: values.config, port: values.port, json: values.json === true, out: io.stdout, err: io.stderr })
    }
    let running: RunningProxy
    if (command === 'demo') {
      const { runDemo } = await import('./demo.js')
      running = await runDemo({ env: io.env, configPath: values.config, out: io.stdout, entry: process.argv[1] })
    } else {
      const load = (): ReturnType<typeof loadConfig> => loadConfig({ env: io.env, configPath: values.config })
      running = await startProxy(load(), { env: io.env }, { load, env: io.env, configPath: values.config })
    }
    exitOnSignals(running, running.proxy.logger)
    if (io.env.npm_lifecycle_event !== undefined) exitWithParent(running.shutdown)
    exitOnQuit(running.quitRequested, running.shutdown)
    return undefined
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`cxone-auth-proxy: ${err.message}`)
      return 2
    }
    io.stderr(`cxone-auth-proxy: ${(err as Error).message}`)
    const level = io.env[SETTINGS.logLevel.env]
    if (level === 'debug' || level === 'trace') io.stderr(String((err as Error).stack))
    return 1
  }
}
