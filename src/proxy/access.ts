import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RouteRule, Settings } from '../core/config.js'
import { ProxyError } from '../core/errors.js'
import { isLoopbackHost } from '../core/net.js'
import { pathOf } from './target.js'

const OPEN_PATHS = new Set(['/_proxy/healthz', '/_proxy/readyz'])
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const HOST_HEADER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/

export interface AccessGuard {
  /** onRequest: Host (DNS rebinding), cross-site browsers, CORS preflight, inbound keys. */
  check: (request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined
  /** preHandler of forwarded requests: read-only mode and the route allow-list. */
  admit: (request: FastifyRequest) => void
  /** The proxy's own origin, for rewritten links. */
  publicOrigin: (request: FastifyRequest) => string
}

/** `*` is one path segment, `**` any rest: "GET /inContactAPI/services/*\/skills/**". */
export function compileRoute (rule: RouteRule): (method: string, path: string) => boolean {
  const source = rule.pattern.split('/').map((seg) => {
    if (seg === '**') return '.*'
    return seg.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')
  }).join('/')
  const re = new RegExp(`^${source.replace(/\/\.\*$/, '(?:/.*)?')}$`)
  return (method, path) => (rule.method === '*' || rule.method === method) && re.test(path)
}

function digest (key: string): Buffer {
  return createHash('sha256').update(key).digest()
}

export function createAccessGuard (s: Settings, apiKeys: readonly string[]): AccessGuard {
  const keyDigests = apiKeys.map(digest)
  const publicUrl = s.publicUrl === undefined ? undefined : new URL(s.publicUrl)
  const hostNames = new Set<string>([
    ...s.allowedHosts.map((h) => h.toLowerCase()),
    ...(publicUrl !== undefined ? [publicUrl.hostname.toLowerCase()] : []),
    ...(s.host !== '0.0.0.0' && s.host !== '::' ? [s.host.toLowerCase()] : [])
  ])
  const corsOrigins = new Set(s.corsOrigins)
  const routes = s.routes.map(compileRoute)

  function hostAllowed (host: string | undefined): boolean {
    if (host === undefined || !HOST_HEADER.test(host)) return false
    const name = host.replace(/:\d+$/, '').toLowerCase()
    return isLoopbackHost(name) || hostNames.has(name) || hostNames.has(name.replace(/^\[(.*)\]$/, '$1'))
  }

  function keyOk (sent: string | string[] | undefined): boolean {
    if (typeof sent !== 'string') return false
    const d = digest(sent)
    let ok = false
    for (const k of keyDigests) ok = timingSafeEqual(d, k) || ok
    return ok
  }

  function check (request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
    if (!hostAllowed(request.headers.host)) {
      throw new ProxyError('forbidden_host', `Host "${String(request.headers.host ?? '').slice(0, 100)}" is not one of the proxy's names: call it by a loopback address or add the name to PROXY_ALLOWED_HOSTS`)
    }
    const origin = request.headers.origin
    const allowedOrigin = typeof origin === 'string' && corsOrigins.has(origin)
    if (allowedOrigin) {
      reply.header('access-control-allow-origin', origin)
      reply.header('vary', 'Origin')
      reply.header('access-control-expose-headers', 'x-request-id, proxy-status, retry-after')
      if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
        // The preflight is answered here, never forwarded.
        reply.header('access-control-allow-methods', s.readOnly ? 'GET, HEAD, OPTIONS' : 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS')
        reply.header('access-control-allow-headers', 'content-type, accept, x-proxy-key, x-request-id')
        reply.header('access-control-max-age', '600')
        return reply.code(204).send()
      }
    } else if ((origin !== undefined && origin !== ownOrigin(request)) || request.headers['sec-fetch-site'] === 'cross-site') {
      throw new ProxyError('cross_site_request', `a browser page${typeof origin === 'string' ? ` at ${origin.slice(0, 100)}` : ''} may not call the proxy: add its origin to PROXY_CORS_ORIGINS if it should`)
    }
    if (keyDigests.length > 0 && !OPEN_PATHS.has(pathOf(request.raw.url ?? '')) && !keyOk(request.headers['x-proxy-key'])) {
      throw new ProxyError('proxy_auth_required', 'this proxy needs a key: send one of PROXY_API_KEYS as the X-Proxy-Key header')
    }
    return undefined
  }

  function ownOrigin (request: FastifyRequest): string {
    return publicUrl?.origin ?? `http://${request.headers.host ?? ''}`
  }

  function admit (request: FastifyRequest): void {
    const method = request.method
    if (s.readOnly && !READ_METHODS.has(method)) {
      throw new ProxyError('forbidden_route', `${method} is refused: PROXY_READ_ONLY=true forwards only GET, HEAD and OPTIONS`)
    }
    if (routes.length > 0) {
      const path = pathOf(request.raw.url ?? '')
      if (!routes.some((match) => match(method, path))) {
        throw new ProxyError('forbidden_route', `${method} ${path.slice(0, 200)} is not in the config file's "routes" allow-list`)
      }
    }
  }

  return {
    check,
    admit,
    publicOrigin: (request) => ownOrigin(request)
  }
}
