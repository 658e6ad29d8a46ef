import { loadConfig } from '../core/config.js'
import { ConfigError } from '../core/errors.js'
import { isLoopbackHost } from '../core/net.js'

/** Where `shutdown` and `status` find the proxy on this machine, and the key they send. */
export interface LocalProxy {
  /** e.g. http://127.0.0.1:8080 */
  origin: string
  /** The first inbound key, when PROXY_API_KEYS / PROXY_API_KEYS_FILE are set. */
  key: string | undefined
}

export interface LocalProxyOptions {
  env: NodeJS.ProcessEnv
  configPath: string | undefined
  /** `--port`, overriding PROXY_PORT and the config file. */
  port: string | undefined
}

const CALL_TIMEOUT_MS = 5_000

/** Reads the same settings `start` reads (secrets not required): the port, the host, the inbound keys. */
export function localProxy (opts: LocalProxyOptions): LocalProxy {
  const config = loadConfig({ env: opts.env, configPath: opts.configPath, allowMissingCredentials: true })
  let port = config.settings.port
  if (opts.port !== undefined) {
    port = Number(opts.port)
    if (!/^\d{1,5}$/.test(opts.port) || port < 1 || port > 65_535) throw new ConfigError(`--port ${opts.port} is not valid: use the port the proxy listens on, a number from 1 to 65535`)
  }
  if (port === 0) throw new ConfigError('the configured port is 0 (any free port), so the port to call is not known: pass --port with the port from the proxy\'s "listening on" log line')
  // A proxy bound to every address (0.0.0.0, ::) answers on loopback too; only a loopback caller may stop it.
  const host = isLoopbackHost(config.settings.host) ? config.settings.host : '127.0.0.1'
  return { origin: `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`, key: config.credentials.apiKeys[0] }
}

export type CallResult =
  | { kind: 'answer', status: number, body: unknown }
  | { kind: 'not_listening' }
  | { kind: 'failed', message: string }

/** One call to the proxy's own endpoint; never throws. */
export async function callLocalProxy (proxy: LocalProxy, method: 'GET' | 'POST', path: string): Promise<CallResult> {
  let response: Response
  try {
    response = await fetch(`${proxy.origin}${path}`, {
      method,
      headers: { accept: 'application/json', ...(proxy.key === undefined ? {} : { 'x-proxy-key': proxy.key }) },
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      redirect: 'manual'
    })
  } catch (err) {
    const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code
    if (code === 'ECONNREFUSED') return { kind: 'not_listening' }
    if ((err as Error).name === 'TimeoutError') return { kind: 'failed', message: `${proxy.origin} did not answer within ${CALL_TIMEOUT_MS / 1000} s` }
    return { kind: 'failed', message: `${proxy.origin} cannot be reached (${code ?? (err as Error).message})` }
  }
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { kind: 'answer', status: response.status, body }
}

/** Why a call did not get the answer it wanted, as one line that names the fix. */
export function explainFailure (proxy: LocalProxy, result: CallResult, what: string): string {
  if (result.kind === 'not_listening') return `nothing listens on ${proxy.origin}: the proxy is not running there (already stopped?) or listens on another port; pass --port N`
  if (result.kind === 'failed') return `${what} failed: ${result.message}`
  const error = (result.body as { error?: { code?: unknown, message?: unknown } } | undefined)?.error
  if (typeof error?.code !== 'string' || typeof error.message !== 'string') {
    return `${proxy.origin} answered ${result.status} and is not a cxone-auth-proxy: pass --port with the proxy's port`
  }
  const hint = error.code !== 'proxy_auth_required'
    ? ''
    : proxy.key === undefined
      ? ' (this command sends the first of PROXY_API_KEYS / PROXY_API_KEYS_FILE: set one of them as for the proxy)'
      : ' (this command sent the first of PROXY_API_KEYS / PROXY_API_KEYS_FILE, which the proxy does not accept: use the proxy\'s keys)'
  return `${what} refused by the proxy at ${proxy.origin}: ${error.code}: ${error.message}${hint}`
}
