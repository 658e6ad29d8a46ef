import type { FastifyInstance } from 'fastify'
import { ProxyError } from '../core/errors.js'
import type { TokenProvider } from '../token/token-provider.js'

/** What readiness reads of one profile (business unit): its token and its upstreams. */
export interface ProfileHealth {
  name: string
  provider: TokenProvider
  /** Why requests could not be forwarded with the current token (the API origin unknown), or null. */
  apiProblem: (tenantId: string | undefined) => Promise<{ code: string, message: string } | null>
  /** Each upstream of the routing table and its origin, or why it is not known (issue 11). */
  upstreams: () => Record<string, unknown>
}

export interface AdminOptions {
  /** Every profile, the default one first. */
  profiles: () => readonly ProfileHealth[]
  /** A profile's own listener answers readiness for that profile only. */
  only?: string
  /** Prometheus text for /_proxy/metrics; a profile's own listener serves none. */
  metrics?: () => Promise<string>
  metricsContentType?: string
}

interface Readiness {
  ready: boolean
  retryAfterSec: number | undefined
  body: Record<string, unknown>
}

/** One profile's readiness: a valid token and a known API origin. */
async function readinessOf (p: ProfileHealth): Promise<Readiness> {
  const s = p.provider.status()
  if (s.ready) {
    // A token is not enough: requests also need the API origin (configured, or discovered for the tenant).
    const problem = await p.apiProblem(p.provider.current()?.tenantId)
    if (problem === null) return { ready: true, retryAfterSec: undefined, body: { status: 'ready', token: { expiresInSec: Math.floor(s.expiresInSec ?? 0) }, upstreams: p.upstreams() } }
    return { ready: false, retryAfterSec: 5, body: { status: 'not_ready', reason: { code: problem.code, message: problem.message }, retryAfterSec: 5, upstreams: p.upstreams() } }
  }
  // Starts a fetch if none is running; never while the token layer is backing off.
  p.provider.poke()
  const retryAfter = Math.max(1, Math.ceil(s.nextAttemptInSec ?? 1))
  return {
    ready: false,
    retryAfterSec: retryAfter,
    body: {
      status: 'not_ready',
      reason: s.lastError === undefined
        ? { code: 'token_pending', message: 'the first token is being fetched' }
        : s.lastError,
      retryAfterSec: retryAfter
    }
  }
}

/**
 * /_proxy/healthz, /_proxy/readyz and /_proxy/metrics: served by the proxy, each profile's listener and the admin
 * listener. Readiness is every profile's (200 only when all are ready, naming those that are not), one profile's
 * with `?profile=<name>`, or a profile listener's own.
 */
export async function adminRoutes (app: FastifyInstance, opts: AdminOptions): Promise<void> {
  app.get('/_proxy/healthz', async () => ({ status: 'ok' }))

  app.get<{ Querystring: { profile?: string } }>('/_proxy/readyz', async (request, reply) => {
    const all = opts.profiles()
    const asked = opts.only ?? request.query.profile
    if (asked !== undefined || all.length === 1) {
      const p = all.find((x) => x.name === (asked ?? all[0]?.name))
      if (p === undefined) {
        throw new ProxyError('not_found', `no profile "${String(asked)}": the profiles are ${all.map((x) => x.name).join(', ')}`)
      }
      const r = await readinessOf(p)
      if (!r.ready) reply.code(503).header('retry-after', r.retryAfterSec)
      return all.length === 1 ? r.body : { profile: p.name, ...r.body }
    }
    const each = await Promise.all(all.map(async (p) => [p.name, await readinessOf(p)] as const))
    const notReady = each.filter(([, r]) => !r.ready)
    const profiles = Object.fromEntries(each.map(([name, r]) => [name, r.body]))
    if (notReady.length === 0) return { status: 'ready', profiles }
    const retryAfterSec = Math.min(...notReady.map(([, r]) => r.retryAfterSec ?? 5))
    reply.code(503).header('retry-after', retryAfterSec)
    return { status: 'not_ready', notReady: notReady.map(([name]) => name), retryAfterSec, profiles }
  })

  const metrics = opts.metrics
  if (metrics !== undefined) {
    app.get('/_proxy/metrics', async (_request, reply) => {
      reply.header('content-type', opts.metricsContentType ?? 'text/plain')
      return await metrics()
    })
  }
}
