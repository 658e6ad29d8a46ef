import { loadConfig } from '../core/config.js'
import { startProxy } from './server.js'
import { CxoneSimulator, DEMO_CREDENTIALS } from '../simulator/simulator.js'

export interface DemoOptions {
  env: NodeJS.ProcessEnv
  configPath: string | undefined
  out: (line: string) => void
}

/** The environment the demo runs the real proxy with: the user's PROXY_* settings, the simulator's CXone. */
export function demoEnv (env: NodeJS.ProcessEnv, issuer: string): NodeJS.ProcessEnv {
  const kept = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('CXONE_')))
  return {
    ...kept,
    CXONE_ISSUER: issuer,
    CXONE_CLIENT_ID: DEMO_CREDENTIALS.clientId,
    CXONE_CLIENT_SECRET: DEMO_CREDENTIALS.clientSecret,
    CXONE_ACCESS_KEY_ID: DEMO_CREDENTIALS.accessKeyId,
    CXONE_ACCESS_KEY_SECRET: DEMO_CREDENTIALS.accessKeySecret
  }
}

/** Starts the CXone simulator and the same proxy `start` runs, wired to it; prints calls to paste. */
export async function runDemo (opts: DemoOptions): Promise<{ shutdown: (reason: string) => Promise<void>, quitRequested: Promise<string> }> {
  const sim = await new CxoneSimulator().start()
  let running
  try {
    const config = loadConfig({ env: demoEnv(opts.env, sim.issuer), configPath: opts.configPath, skipDefaultFile: true })
    running = await startProxy(config, { env: opts.env })
  } catch (err) {
    await sim.stop()
    throw err
  }
  const url = running.url
  const base = `${url}/inContactAPI/services/v31.0`
  opts.out([
    '',
    `  cxone-auth-proxy demo: the proxy on ${url}, talking to the built-in CXone simulator at ${sim.origin}`,
    '  No credentials needed: the proxy holds the (simulated) token. Try:',
    '',
    `    curl -s ${base}/skills/activity`,
    `    curl -s ${base}/agents/states`,
    `    curl -s ${url}/_proxy/readyz`,
    '',
    '  From Python (requests):',
    '',
    '    import requests',
    `    r = requests.get("${base}/skills/activity", params={"top": 3})`,
    '    for s in r.json()["skillActivity"]:',
    '        print(s["skillName"], s["queueCount"], s["agentsAvailable"])',
    '',
    '  See what `check` reports for a working token call (the demo credentials are not secrets):',
    '',
    `    CXONE_ISSUER=${sim.issuer} CXONE_CLIENT_ID=${DEMO_CREDENTIALS.clientId} CXONE_CLIENT_SECRET=${DEMO_CREDENTIALS.clientSecret} \\`,
    `      CXONE_ACCESS_KEY_ID=${DEMO_CREDENTIALS.accessKeyId} CXONE_ACCESS_KEY_SECRET=${DEMO_CREDENTIALS.accessKeySecret} npx cxone-auth-proxy check`,
    '',
    '  Ctrl-C stops the demo.',
    ''
  ].join('\n'))
  return {
    quitRequested: running.quitRequested,
    shutdown: async (reason) => {
      await running.shutdown(reason)
      await sim.stop()
    }
  }
}
