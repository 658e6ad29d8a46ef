import { Agent, EnvHttpProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici'
import type { Settings } from './config.js'

/** The fetch the token layer and discovery use: injectable, so tests can pass their own. */
export type FetchFn = (input: string, init: RequestInit) => Promise<Response>

function envValue (env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name] ?? env[name.toLowerCase()]
  return v === undefined || v === '' ? undefined : v
}

/** HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the given environment, for undici's EnvHttpProxyAgent. */
function proxyOptions (env: NodeJS.ProcessEnv): { httpProxy?: string, httpsProxy?: string, noProxy?: string } {
  const out: { httpProxy?: string, httpsProxy?: string, noProxy?: string } = {}
  const http = envValue(env, 'HTTP_PROXY')
  const https = envValue(env, 'HTTPS_PROXY')
  const no = envValue(env, 'NO_PROXY')
  if (http !== undefined) out.httpProxy = http
  if (https !== undefined) out.httpsProxy = https
  if (no !== undefined) out.noProxy = no
  return out
}

/** True when the environment names an outbound HTTP(S) proxy (any case, as curl and undici read it). */
export function hasEnvProxy (env: NodeJS.ProcessEnv): boolean {
  return ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((k) => (env[k] ?? '') !== '')
}

/**
 * The upstream connection pool. Every option is set explicitly: TLS is verified (reply-from's own
 * default turns verification off), keep-alive is bounded, and timeouts leave room for 60 s long polls.
 */
export function createDispatcher (s: Pick<Settings, 'upstreamConnections' | 'upstreamTimeoutMs' | 'connectTimeoutMs'>, env: NodeJS.ProcessEnv): Dispatcher {
  const options = {
    connections: s.upstreamConnections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    keepAliveTimeoutThreshold: 2_000,
    headersTimeout: s.upstreamTimeoutMs,
    bodyTimeout: s.upstreamTimeoutMs,
    connectTimeout: s.connectTimeoutMs,
    maxHeaderSize: 64 * 1024,
    allowH2: false,
    connect: { rejectUnauthorized: true, timeout: s.connectTimeoutMs }
  }
  return hasEnvProxy(env) ? new EnvHttpProxyAgent({ ...options, ...proxyOptions(env) }) : new Agent(options)
}

/**
 * The fetch for discovery and the token endpoint: the platform's, or undici's through the outbound proxy
 * named by HTTPS_PROXY / HTTP_PROXY (NO_PROXY honoured). TLS is verified either way.
 */
export function createTokenFetch (env: NodeJS.ProcessEnv): { fetch: FetchFn, close: () => Promise<void> } {
  if (!hasEnvProxy(env)) {
    return { fetch: async (url, init) => await globalThis.fetch(url, init), close: async () => {} }
  }
  const agent = new EnvHttpProxyAgent({ connect: { rejectUnauthorized: true }, ...proxyOptions(env) })
  return {
    fetch: async (url, init) => await (undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>),
    close: async () => { await agent.close() }
  }
}
