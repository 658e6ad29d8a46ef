import { Agent, EnvHttpProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici'
import type { Settings } from './config.js'
import { OUTBOUND_VARS } from './settings.js'

/** The fetch the token layer and discovery use: injectable, so tests can pass their own. */
export type FetchFn = (input: string, init: RequestInit) => Promise<Response>

function envValue (env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name] ?? env[name.toLowerCase()]
  return v === undefined || v === '' ? undefined : v
}

/** HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the given environment, for undici's EnvHttpProxyAgent. */
function proxyOptions (env: NodeJS.ProcessEnv): { httpProxy?: string, httpsProxy?: string, noProxy?: string } {
  const out: { httpProxy?: string, httpsProxy?: string, noProxy?: string } = {}
  const http = envValue(env, OUTBOUND_VARS.http)
  const https = envValue(env, OUTBOUND_VARS.https)
  const no = envValue(env, OUTBOUND_VARS.no)
  if (http !== undefined) out.httpProxy = http
  if (https !== undefined) out.httpsProxy = https
  if (no !== undefined) out.noProxy = no
  return out
}

/** True when the environment names an outbound HTTP(S) proxy (any case, as curl and undici read it). */
export function hasEnvProxy (env: NodeJS.ProcessEnv): boolean {
  return [OUTBOUND_VARS.https, OUTBOUND_VARS.http].some((k) => envValue(env, k) !== undefined)
}

/** An idle upstream connection is kept this long, unless the API's Keep-Alive header says less. */
const UPSTREAM_KEEP_ALIVE_MS = 30_000
/** The longest an API's Keep-Alive hint may keep a connection. */
const UPSTREAM_KEEP_ALIVE_MAX_MS = 600_000
/** A connection this close to the API's idle timeout is not reused (it might close under the request). */
const UPSTREAM_KEEP_ALIVE_THRESHOLD_MS = 2_000
/** Largest response header block accepted from the API. */
const UPSTREAM_MAX_HEADER_BYTES = 64 * 1024

/**
 * The upstream connection pool. Every option is set explicitly: TLS is verified, keep-alive is bounded, and
 * timeouts leave room for 60 s long polls.
 */
export function createDispatcher (s: Pick<Settings, 'upstreamConnections' | 'upstreamTimeoutMs' | 'connectTimeoutMs'>, env: NodeJS.ProcessEnv): Dispatcher {
  const options = {
    connections: s.upstreamConnections,
    pipelining: 1,
    keepAliveTimeout: UPSTREAM_KEEP_ALIVE_MS,
    keepAliveMaxTimeout: UPSTREAM_KEEP_ALIVE_MAX_MS,
    keepAliveTimeoutThreshold: UPSTREAM_KEEP_ALIVE_THRESHOLD_MS,
    headersTimeout: s.upstreamTimeoutMs,
    bodyTimeout: s.upstreamTimeoutMs,
    connectTimeout: s.connectTimeoutMs,
    maxHeaderSize: UPSTREAM_MAX_HEADER_BYTES,
    allowH2: false,
    connect: { rejectUnauthorized: true, timeout: s.connectTimeoutMs }
  }
  return hasEnvProxy(env) ? new EnvHttpProxyAgent({ ...options, ...proxyOptions(env) }) : new Agent(options)
}

/**
 * The fetch for discovery and the token endpoint: undici's (already loaded for the upstream pool; the platform's
 * fetch would load Node's own copy of undici, ~30 ms of a start), through the outbound proxy named by HTTPS_PROXY /
 * HTTP_PROXY when set (NO_PROXY honoured). TLS is verified either way.
 */
export function createTokenFetch (env: NodeJS.ProcessEnv): { fetch: FetchFn, close: () => Promise<void> } {
  if (!hasEnvProxy(env)) {
    return { fetch: async (url, init) => await (undiciFetch(url, init as object) as unknown as Promise<Response>), close: async () => {} }
  }
  const agent = new EnvHttpProxyAgent({ connect: { rejectUnauthorized: true }, ...proxyOptions(env) })
  return {
    fetch: async (url, init) => await (undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>),
    close: async () => { await agent.close() }
  }
}
