import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { loadConfig } from '../core/config.js'
import { SETTINGS } from '../core/settings.js'
import { ConfigError } from '../core/errors.js'
import { startProxy, type RunningProxy } from './server.js'

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

/**
 * A stop signal this soon after the first is the same request delivered twice: Ctrl-C under `npm start` reaches
 * node from the terminal and again from npm, which forwards SIGINT to its child.
 */
export const REPEAT_SIGNAL_WINDOW_MS = 1_000

/** How often a proxy started by npm looks whether its parent is gone (main.ts). */
export const PARENT_POLL_MS = 1000

export interface CliIO {
  env: NodeJS.ProcessEnv
  stdout: (line: string) => void
  stderr: (line: string) => void
  /**
   * Called before a server command builds anything (main.ts: it installs the signal handlers then, so that a signal
   * right after the start-up line neither opens the inspector nor skips the drain, issue 25); the function it returns
   * takes the proxy once it runs: the process (signals, exit codes) is main.ts's.
   */
  serving: () => (running: RunningProxy) => void
}

/**
 * Runs a command; resolves to an exit code, or to undefined while a server keeps running (handed to `io.serving`'s function): the
 * process (signals, exit codes) is main.ts's, never this module's.
 */
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
    const keep = io.serving()
    let running: RunningProxy
    if (command === 'demo') {
      const { runDemo } = await import('./demo.js')
      running = await runDemo({ env: io.env, configPath: values.config, out: io.stdout, entry: process.argv[1] })
    } else {
      const load = (): ReturnType<typeof loadConfig> => loadConfig({ env: io.env, configPath: values.config })
      running = await startProxy(load(), { env: io.env }, { load, env: io.env, configPath: values.config })
    }
    keep(running)
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
