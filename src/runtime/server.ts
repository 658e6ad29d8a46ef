import type { FastifyInstance } from 'fastify'
import type { Config } from '../core/config.js'
import { ConfigError, ProxyError } from '../core/errors.js'
import { buildApp, type AppDeps, type ProxyApp } from './compose.js'
import { hasEnvProxy } from '../core/http-clients.js'
import { startReloader } from './reload.js'
import { listenUnix, type UnixListener } from './sockets.js'
import { FASTIFY_LISTEN_TEXT } from '../core/log.js'
import { answerOpenResponses, trackOpenResponses } from './unanswered.js'
import { effectiveProfiles, effectiveSettings } from './effective-settings.js'
import type { RouteView } from '../token/upstreams.js'
import { systemClock } from '../core/clock.js'
import { SETTINGS } from '../core/settings.js'

export { effectiveSettings }

export interface RunningProxy {
  proxy: ProxyApp
  url: string
  /** Each profile's own origin (the default's is `url`): a script picks its business unit by its base URL. */
  urls: Readonly<Record<string, string>>
  adminUrl: string | undefined
  /** Stops accepting, lets in-flight requests finish within the grace period, closes everything. */
  shutdown: (reason: string) => Promise<void>
  /** Ends the drain now (a second signal): requests not yet answered get 503 shutting_down, then everything is cut. */
  stopNow: (reason: string) => Promise<void>
  /** Resolves when POST /_proxy/quitquitquit asks for the same drain as SIGTERM. */
  quitRequested: Promise<string>
  /** Reads the configuration again and applies what may change without a restart (SIGHUP); a no-op without `reload`. */
  reload: (reason: string) => Promise<void>
}

export interface ReloadSource {
  /** Reads the configuration as at start; throws ConfigError. */
  load: () => Config
  env: NodeJS.ProcessEnv
  configPath: string | undefined
}

async function listen (app: FastifyInstance, host: string, port: number, name: string): Promise<string> {
  try {
    await app.listen({ host, port, listenTextResolver: () => FASTIFY_LISTEN_TEXT })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new ConfigError(`${name}=${port} is already in use on ${host}: stop the other process or choose another port with ${name}`, { cause: err, code: 'listen_failed' })
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new ConfigError(`cannot listen on ${host}: it is not an address of this machine; fix ${name === SETTINGS.adminPort.env ? SETTINGS.adminHost.env : SETTINGS.host.env}`, { cause: err, code: 'listen_failed' })
    if (code === 'EACCES') throw new ConfigError(`${name}=${port} needs privileges on this machine: choose a port above 1023`, { cause: err, code: 'listen_failed' })
    throw err
  }
  const addr = app.server.address()
  if (addr === null || typeof addr === 'string') return `http://${host}:${port}`
  const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return `http://${h}:${addr.port}`
}

/** A row of the routing table as the start-up line prints it. */
function describeRoute (r: RouteView): string {
  return `${r.prefix} → ${r.upstream} (${r.origin ?? r.problem?.message ?? 'discovered from the token'})`
}

/** issue 22: each profile's own Unix socket and each of its callers', handing their connections to its server. */
async function listenCallerSockets (config: Config, proxy: ProxyApp, into: UnixListener[]): Promise<void> {
  for (const [i, p] of proxy.profiles.entries()) {
    const own = config.profiles[i]?.settings
    if (own?.socket !== undefined) into.push(await listenUnix({ path: own.socket, mode: parseInt(own.socketMode, 8), target: p.app.server, owner: `profile "${p.name}"` }))
    for (const c of config.profiles[i]?.callers?.callers ?? []) {
      if (c.socket !== undefined) into.push(await listenUnix({ path: c.socket, mode: c.socketMode, target: p.app.server, owner: `caller "${c.name}"` }))
    }
  }
}

/** Stops accepting on the sockets and removes their files (those still ours). */
async function closeSockets (sockets: readonly UnixListener[]): Promise<void> {
  await Promise.all(sockets.map(async (u) => { await u.close() }))
}

/** Builds the proxy, listens, starts the token's first fetch in the background. */
export async function startProxy (config: Config, deps: AppDeps = {}, reloadFrom?: ReloadSource): Promise<RunningProxy> {
  const proxy = await buildApp(config, deps)
  const clock = deps.clock ?? systemClock
  const s = config.settings
  const urls: Record<string, string> = {}
  let adminUrl: string | undefined
  const sockets: UnixListener[] = []
  try {
    // Every profile listens on the default's host, each on its own port.
    for (const [i, p] of proxy.profiles.entries()) {
      urls[p.name] = await listen(p.app, s.host, p.port, i === 0 ? SETTINGS.port.env : `the "port" of profile "${p.name}"`)
    }
    if (proxy.admin !== undefined && s.adminPort !== undefined) adminUrl = await listen(proxy.admin, s.adminHost, s.adminPort, SETTINGS.adminPort.env)
    await listenCallerSockets(config, proxy, sockets)
  } catch (err) {
    await closeSockets(sockets)
    await proxy.close()
    throw err
  }
  const reloader = reloadFrom === undefined
    ? undefined
    : await startReloader({ proxy, metrics: proxy.metrics, logger: proxy.logger, load: reloadFrom.load, env: reloadFrom.env, configPath: reloadFrom.configPath, clock })
  const url = urls[proxy.profiles[0]?.name ?? 'default'] as string
  proxy.start()
  const apiOrigin = s.apiUrl === undefined ? 'discovered from the token (cxone-configuration)' : new URL(s.apiUrl).origin
  // The routing table: each prefix, its upstream and the origin it resolved (discovered ones once the token is in).
  const routing = proxy.routing().map(describeRoute)
  // Everything that changes behaviour, never a secret: settings and their sources, the config file, an outbound proxy.
  // With business units (issue 12), each further profile: its own origin, routing table and settings.
  const profiles = config.profiles.length === 1
    ? undefined
    : effectiveProfiles(config).slice(1).map((p) => ({ ...p, url: urls[p.name], routing: proxy.routing(p.name).map(describeRoute) }))
  proxy.logger.info({ url, adminUrl, apiOrigin, routing, outboundProxy: hasEnvProxy(deps.env ?? process.env), settings: effectiveSettings(config), profiles }, `cxone-auth-proxy listening on ${url}${profiles === undefined ? '' : ` and ${profiles.map((p) => `${p.url ?? ''} (${p.name})`).join(', ')}`}`)

  const open = proxy.profiles.map((p) => trackOpenResponses(p.app.server))
  let cutting: Promise<void> | undefined
  const cut = async (why: string): Promise<void> => {
    cutting ??= (async () => {
      const answered = await answerOpenResponses(open.flatMap((o) => [...o]), new ProxyError('shutting_down', `${why} before the API answered: retry; the call may have reached the API`, { retryAfterSec: 1 }))
      proxy.logger.warn({ answered }, `${answered} caller(s) still waiting answered 503 shutting_down; cutting every connection`)
      proxy.abort()
    })()
    await cutting
  }

  let closing: Promise<void> | undefined
  const shutdown = async (reason: string): Promise<void> => {
    closing ??= (async () => {
      reloader?.close()
      proxy.logger.info({ reason, graceMs: s.shutdownGraceMs }, 'shutting down: no new requests, finishing those in flight')
      await closeSockets(sockets)
      const force = clock.setTimeout(() => {
        proxy.logger.warn({ graceMs: s.shutdownGraceMs }, 'grace period over: closing the connections still open')
        void cut(`the proxy is shutting down and its grace period (${SETTINGS.shutdownGraceMs.env}=${s.shutdownGraceMs}) ended`)
      }, s.shutdownGraceMs)
      await proxy.close()
      clock.clearTimeout(force)
      proxy.logger.info('stopped')
      proxy.logger.flush()
    })()
    await closing
  }
  const stopNow = async (reason: string): Promise<void> => {
    void shutdown(reason)
    await cut(`the proxy was stopped (${reason} during the drain)`)
  }
  const reload = async (reason: string): Promise<void> => {
    if (reloader === undefined) proxy.logger.info({ reason }, `${reason}: this proxy reloads nothing (started without a configuration source)`)
    else await reloader.reload(reason)
  }
  return { proxy, url, urls, adminUrl, shutdown, stopNow, quitRequested: proxy.quitRequested, reload }
}
