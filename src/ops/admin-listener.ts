import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import type { Logger } from 'pino'
import { sendError, toProxyError, type AnswerHooks } from '../core/error-reply.js'
import { ProxyError } from '../core/errors.js'
import { NO_SCHEMA_COMPILERS } from '../core/no-schemas.js'
import { requestIds } from '../core/request-id.js'
import { ADMIN_PROFILE } from './metrics.js'
import type { AnsweredRequest } from '../core/answered-request.js'

/** Probes and scrapes call these by the pod's address, any Host: they show no caller's data. */
const ANY_HOST_PATHS = new Set(['/_proxy/healthz', '/_proxy/readyz', '/_proxy/metrics'])

/**
 * The optional admin listener: /_proxy/ health, readiness, metrics and the status page only; it never forwards.
 * `checkHost` throws for a Host that is not one of the proxy's names: the status page and status.json show token
 * fingerprints, origins and callers' paths, and a DNS-rebinding page must not read them (issue 24).
 */
export async function createAdminListener (logger: Logger, routes: FastifyPluginAsync, hooks: AnswerHooks, requestDone: (r: AnsweredRequest) => void, checkHost: (host: string | undefined) => void): Promise<FastifyInstance> {
  const admin = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIds(),
    forceCloseConnections: true,
    schemaController: NO_SCHEMA_COMPILERS
  })
  admin.setErrorHandler((err: Error, request, reply) => { sendError(toProxyError(err, request), request, reply, hooks) })
  admin.setNotFoundHandler(async () => {
    throw new ProxyError('not_found', 'the admin listener serves only /_proxy/healthz, /_proxy/readyz, /_proxy/metrics and the status page /_proxy/; it never forwards')
  })
  admin.addHook('onRequest', async (request) => {
    if (!ANY_HOST_PATHS.has(request.url.split('?', 1)[0] as string)) checkHost(request.headers.host)
  })
  admin.addHook('onResponse', (request, reply, done) => {
    requestDone({ reqId: request.id, method: request.method, path: request.url.split('?', 1)[0] as string, status: reply.statusCode, ms: reply.elapsedTime, upstreamMs: undefined, token: undefined, profile: ADMIN_PROFILE })
    done()
  })
  await admin.register(routes)
  return admin
}
