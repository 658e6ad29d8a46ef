import type { FastifyInstance } from 'fastify'
import type { TokenProvider } from '../token/token-provider.js'

export interface AdminOptions {
  provider: TokenProvider
  /** Why requests could not be forwarded with the current token (the API origin unknown), or null. */
  apiProblem: (tenantId: string | undefined) => Promise<{ code: string, message: string } | null>
  /** Each upstream of the routing table and its origin, or why it is not known (issue 11). */
  upstreams: () => Record<string, unknown>
  /** Prometheus text for /_proxy/metrics. */
  metrics: () => Promise<string>
  metricsContentType: string
}

/** /_proxy/healthz, /_proxy/readyz and /_proxy/metrics: served by the proxy and by the admin listener. */
export async function adminRoutes (app: FastifyInstance, opts: AdminOptions): Promise<void> {
  const { provider } = opts

  app.get('/_proxy/healthz', async () => ({ status: 'ok' }))

  app.get('/_proxy/readyz', async (_request, reply) => {
    const s = provider.status()
    if (s.ready) {
      // A token is not enough: requests also need the API origin (configured, or discovered for the tenant).
      const problem = await opts.apiProblem(provider.current()?.tenantId)
      if (problem === null) return { status: 'ready', token: { expiresInSec: Math.floor(s.expiresInSec ?? 0) }, upstreams: opts.upstreams() }
      reply.code(503).header('retry-after', 5)
      return { status: 'not_ready', reason: { code: problem.code, message: problem.message }, retryAfterSec: 5, upstreams: opts.upstreams() }
    }
    // Starts a fetch if none is running; never while the token layer is backing off.
    provider.poke()
    const retryAfter = Math.max(1, Math.ceil(s.nextAttemptInSec ?? 1))
    reply.code(503).header('retry-after', retryAfter)
    return {
      status: 'not_ready',
      reason: s.lastError === undefined
        ? { code: 'token_pending', message: 'the first token is being fetched' }
        : s.lastError,
      retryAfterSec: retryAfter
    }
  })

  app.get('/_proxy/metrics', async (_request, reply) => {
    reply.header('content-type', opts.metricsContentType)
    return await opts.metrics()
  })
}
