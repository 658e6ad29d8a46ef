import { relative } from 'node:path'
import { loadConfig } from '../core/config.js'
import { secretVars, type SettingKey } from '../core/settings.js'
import { startProxy, type RunningProxy } from './server.js'
import { CxoneSimulator, DEMO_CREDENTIALS, DEMO_TENANT_TWO } from '../simulator/simulator.js'
import type { SimulatorCredentials } from '../simulator/token-endpoint.js'

export interface DemoOptions {
  env: NodeJS.ProcessEnv
  configPath: string | undefined
  out: (line: string) => void
  /** How this process was started (`process.argv[1]`), to print a `check` command that works as pasted. */
  entry?: string | undefined
}

/** The CXone side of the settings: always the simulator's in the demo, whatever the config file says. */
const SIMULATED_SETTINGS: readonly SettingKey[] = ['issuer', 'tokenUrl', 'apiUrl', 'uiUrl', 'digitalUrl', 'grantType', 'clientAuth', 'basicEncoding', 'scope']

/** The environment the demo runs the real proxy with: the user's PROXY_* settings, the simulator's CXone. */
export function demoEnv (env: NodeJS.ProcessEnv, sim: Pick<CxoneSimulator, 'issuer' | 'digitalOrigin'>): NodeJS.ProcessEnv {
  const kept = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('CXONE_')))
  return {
    ...kept,
    CXONE_ISSUER: sim.issuer,
    // The API and UserHub hosts are discovered; the Digital Engagement host is built from discovery's area and
    // domain, a name that cannot point at loopback: the simulator's is named here.
    CXONE_DIGITAL_URL: sim.digitalOrigin,
    CXONE_CLIENT_ID: DEMO_CREDENTIALS.clientId,
    CXONE_CLIENT_SECRET: DEMO_CREDENTIALS.clientSecret,
    CXONE_ACCESS_KEY_ID: DEMO_CREDENTIALS.accessKeyId,
    CXONE_ACCESS_KEY_SECRET: DEMO_CREDENTIALS.accessKeySecret,
    // Issue 23: a script that keeps its own token code works with its base URL changed (loopback only without callers).
    PROXY_LOCAL_AUTH: env.PROXY_LOCAL_AUTH ?? 'true'
  }
}

/** The demo's second business unit: its own tenant, credentials, token endpoint and API hosts (issue 12). */
export const DEMO_SECOND_UNIT = 'bu-two'

/** The second business unit's secrets, in the variables a real one's would be set in (its profile's names). */
function secondUnitEnv (): NodeJS.ProcessEnv {
  const c = DEMO_TENANT_TWO.credentials
  const vars = secretVars(DEMO_SECOND_UNIT)
  return { [vars.clientId]: c.clientId, [vars.clientSecret]: c.clientSecret, [vars.accessKeyId]: c.accessKeyId, [vars.accessKeySecret]: c.accessKeySecret }
}

/** `npm run check` under npm, `node dist/main.js check` from a clone, else the installed command. */
export function checkCommand (env: NodeJS.ProcessEnv, entry: string | undefined): string {
  if (env.npm_lifecycle_event !== undefined) return 'npm run check'
  if (entry !== undefined && entry.endsWith('main.js')) return `node ${relative(process.cwd(), entry) || entry} check`
  return 'cxone-auth-proxy check'
}

/** A `check` command with a unit's simulator and credentials, in two lines (CXONE_DIGITAL_URL: see demoEnv). */
function checkLines (sim: CxoneSimulator, c: SimulatorCredentials, check: string): string[] {
  return [
    `CXONE_ISSUER=${sim.issuer} CXONE_DIGITAL_URL=${sim.digitalOrigin} CXONE_CLIENT_ID=${c.clientId} CXONE_CLIENT_SECRET=${c.clientSecret} \\`,
    `  CXONE_ACCESS_KEY_ID=${c.accessKeyId} CXONE_ACCESS_KEY_SECRET=${c.accessKeySecret} ${check}`
  ]
}

/** A port for the rehearsal that is neither the demo's nor its second unit's (PROXY_PORT and the next one). */
export function rehearsalPort (port: number): number {
  return port === 0 || port + 10 > 65_535 ? 8090 : port + 10
}

/**
 * Starts the CXone simulator and the same proxy `start` runs, with the same proxy settings (config file,
 * PROXY_* variables) and the CXone side pointed at the simulator; prints calls to paste.
 */
export async function runDemo (opts: DemoOptions): Promise<RunningProxy> {
  // Two business units, each a tenant of its own: the default on PROXY_PORT, the second on the next port.
  const sim = await new CxoneSimulator().start()
  const simTwo = await new CxoneSimulator({ credentials: DEMO_TENANT_TWO.credentials, tenantId: DEMO_TENANT_TWO.tenantId }).start()
  const stopSims = async (): Promise<void> => { await Promise.all([sim.stop(), simTwo.stop()]) }
  let running
  let config
  try {
    const env = { ...demoEnv(opts.env, sim), ...secondUnitEnv() }
    const load = (): ReturnType<typeof loadConfig> => {
      const base = { env, configPath: opts.configPath, envOnly: SIMULATED_SETTINGS }
      const port = loadConfig({ ...base, profiles: {} }).settings.port
      const unit = { port: port === 0 ? 0 : port + 1, issuer: simTwo.issuer, digitalUrl: simTwo.digitalOrigin }
      return loadConfig({ ...base, profiles: { [DEMO_SECOND_UNIT]: unit } })
    }
    config = load()
    running = await startProxy(config, { env: opts.env }, { load, env, configPath: opts.configPath })
  } catch (err) {
    await stopSims()
    throw err
  }
  const url = running.url
  const urlTwo = running.urls[DEMO_SECOND_UNIT] as string
  const base = `${url}/inContactAPI/services/v31.0`
  const check = checkCommand(opts.env, opts.entry)
  const settingsFrom = config.configPath === undefined
    ? 'defaults and PROXY_* variables (no proxy.config.json here)'
    : `${relative(process.cwd(), config.configPath) || config.configPath} and PROXY_* variables, as \`start\` reads them${config.settings.readOnly ? ' (read-only: GET, HEAD and OPTIONS only)' : ''}`
  opts.out([
    '',
    `cxone-auth-proxy demo: the proxy on ${url}, talking to the built-in CXone simulator at ${sim.origin}`,
    `A second business unit (profile "${DEMO_SECOND_UNIT}", its own tenant, credentials and API hosts at ${simTwo.origin}) on ${urlTwo}.`,
    `Proxy settings: ${settingsFrom}; the CXone side is the simulator.`,
    'No credentials needed: the proxy holds the (simulated) token. Try, from another terminal:',
    '',
    `curl -s ${base}/skills/activity`,
    `curl -s ${base}/agents/states`,
    `curl -s ${url}/dfo/3.0/contacts          # Digital Engagement: sent to its own host`,
    `curl -s ${url}/business-data-manager/v1/fields   # UserHub: sent to the ui_endpoint host`,
    `curl -s ${urlTwo}/inContactAPI/services/v31.0/agents/states   # the second business unit: its own token`,
    `curl -s ${url}/_proxy/readyz`,
    '',
    'From Python (requests), pasted as it is into a shell:',
    '',
    'python3 - <<\'PY\'',
    'import requests',
    `r = requests.get("${base}/skills/activity", params={"top": 3})`,
    'for s in r.json()["skillActivity"]:',
    '    print(s["skillName"], s["queueCount"], s["agentsAvailable"])',
    'PY',
    '',
    ...(config.settings.localAuth
      ? [
          'A job that keeps its own auth code (a client_credentials call with a Basic header it builds, then `requests`),',
          'with only its base URL changed (in a clone; the proxy answers its token call with a placeholder):',
          '',
          `CXONE_BASE_URL=${url} python3 examples/python/own_auth_job.py`,
          ''
        ]
      : []),
    'What `check` reports for a working token call (the demo credentials are not secrets):',
    '',
    ...checkLines(sim, DEMO_CREDENTIALS, check),
    '',
    `The second business unit (profile "${DEMO_SECOND_UNIT}") checked on its own, with its own credentials:`,
    '',
    ...checkLines(simTwo, DEMO_TENANT_TWO.credentials, check),
    '',
    `To rehearse \`start\` against the simulator, export one unit's variables above and run it on a free port (${url} and ${urlTwo} are the demo's):`,
    `PROXY_PORT=${rehearsalPort(config.settings.port)} ${check.replace(/ check$/, ' start').replace(/^npm run start$/, 'npm start')}`,
    '',
    'Ctrl-C stops the demo.',
    ''
  ].join('\n'))
  return {
    ...running,
    shutdown: async (reason) => {
      await running.shutdown(reason)
      await stopSims()
    }
  }
}
