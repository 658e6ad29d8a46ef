import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici'
import type { Settings } from '../config.js'

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
  return hasEnvProxy(env) ? new EnvHttpProxyAgent(options) : new Agent(options)
}
