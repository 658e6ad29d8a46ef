import { Readable } from 'node:stream'
import httpProxy from '@fastify/http-proxy'
import { LRUCache } from 'lru-cache'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import { ProxyError } from '../core/errors.js'
import type { TokenProvider } from '../token/token-provider.js'
import type { Discovery } from '../token/discovery.js'
import type { TokenSet } from '../token/token-client.js'
import { clearUpstreamHeaders, downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js'
import { rewriteLocation } from './link-rewriter.js'
import { createDeliver, type UpstreamAnswer } from './deliver.js'
import { pathOf, queryOf } from './target.js'
import { mapUpstreamError } from './upstream-errors.js'
import { createBodyParser } from './body.js'

export interface ForwardOptions {
  provider: TokenProvider
  discovery: Discovery
  dispatcher: Dispatcher
  maxBodyBytes: number
  /** Requests in flight upstream at once; more are refused with too_busy. */
  maxConcurrent: number
  /** The proxy's own origin for rewritten links, from the request (PROXY_PUBLIC_URL or Host). */
  publicOrigin: (request: FastifyRequest) => string
  /** Called when the upstream answers 401 to the proxy's bearer, and when the request is replayed. */
  onUpstream401?: () => void
  onReplay?: () => void
  /** Called before forwarding (limits, route rules); throws ProxyError to refuse. */
  admit?: (request: FastifyRequest) => void
}

export interface ProxyContext {
  token: TokenSet
  origin: string
  /** The buffered body, when small enough to replay after a 401. */
  body: Buffer | undefined
  replayable: boolean
  replayed: boolean
  source: string
  options: object
  upstreamStart: number
  upstreamMs: number | undefined
}

declare module 'fastify' {
  interface FastifyRequest {
    proxyCtx: ProxyContext | null
  }
}

/** Bodies up to this size are kept so the request can be replayed once after an upstream 401. */
export const REPLAY_BODY_LIMIT = 64 * 1024
const STALE_SOCKET = new Set(['UND_ERR_SOCKET', 'ECONNRESET'])
const REFUSED_COOLDOWN_MS = 30_000

/**
 * Forwards everything outside /_proxy/ to the API origin with the bearer attached, on
 * @fastify/http-proxy: the token is taken in `preHandler`, headers are cleaned in
 * `rewriteRequestHeaders` / `rewriteHeaders`, 401 replay and link rewriting happen in `onResponse`.
 */
export async function forwardPlugin (scope: FastifyInstance, opts: ForwardOptions): Promise<void> {
  const { provider, discovery } = opts
  const deliver = createDeliver(opts.publicOrigin)
  // Routes whose 401s survived a fresh token: passed through for a while (bounded, expiring).
  const notAboutTheToken = new LRUCache<string, true>({ max: 1024, ttl: REFUSED_COOLDOWN_MS })
  let inFlight = 0
  const release = (): void => { inFlight -= 1 }

  scope.decorateRequest('proxyCtx', null)
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', createBodyParser(opts.maxBodyBytes, REPLAY_BODY_LIMIT))

  function ctxOf (request: FastifyRequest): ProxyContext {
    return request.proxyCtx as ProxyContext
  }

  function attach (request: FastifyRequest, token: TokenSet, origin: string): void {
    const buffered = request.body instanceof Buffer ? request.body : undefined
    request.proxyCtx = {
      token,
      origin,
      body: buffered,
      replayable: request.body === undefined || request.body === null || buffered !== undefined,
      replayed: false,
      source: '/',
      options: {},
      upstreamStart: 0,
      upstreamMs: undefined
    }
  }

  async function attachSlowly (request: FastifyRequest): Promise<void> {
    const token = provider.current() ?? await provider.getToken()
    const origin = discovery.knownApiOrigin(token.tenantId) ?? await discovery.apiOrigin(token.tenantId)
    attach(request, token, origin)
  }

  // Callback style with a synchronous fast path: a valid token and a known origin cost no promise.
  function preHandler (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
    try {
      opts.admit?.(request)
      if (inFlight >= opts.maxConcurrent) {
        throw new ProxyError('too_busy', `${inFlight} requests are already in flight upstream (PROXY_MAX_CONCURRENT_UPSTREAM=${opts.maxConcurrent}): retry shortly`, { retryAfterSec: 1 })
      }
    } catch (err) {
      done(err as Error)
      return
    }
    inFlight += 1
    reply.raw.once('close', release)
    const token = provider.current()
    const origin = token === undefined ? undefined : discovery.knownApiOrigin(token.tenantId)
    if (token !== undefined && origin !== undefined) {
      attach(request, token, origin)
      done()
      return
    }
    attachSlowly(request).then(() => { done() }, done)
  }

  function send (request: FastifyRequest, reply: FastifyReply): void {
    const ctx = ctxOf(request)
    // reply-from re-encodes non-stream JSON bodies; a stream goes out byte for byte.
    if (ctx.body !== undefined) request.body = Readable.from([ctx.body])
    ctx.upstreamStart = performance.now()
    reply.from(ctx.source, ctx.options)
  }

  function handler (request: FastifyRequest, reply: FastifyReply, dest: string, options: object): void {
    const ctx = ctxOf(request)
    ctx.source = dest
    ctx.options = options
    send(request, reply)
  }

  function onResponse (request: FastifyRequest, reply: FastifyReply, res: UpstreamAnswer): void {
    const ctx = ctxOf(request)
    ctx.upstreamMs = performance.now() - ctx.upstreamStart
    if (res.statusCode === 401) {
      const route = `${request.method} ${pathOf(request.raw.url ?? '')}`
      if (ctx.replayed) {
        // A fresh token was refused too: this 401 is not about the token (a permission, say). For a while,
        // this route's 401s go to the caller without costing a token request each.
        notAboutTheToken.set(route, true)
      } else if (notAboutTheToken.get(route) === undefined) {
        provider.invalidate(ctx.token.accessToken)
        opts.onUpstream401?.()
        if (ctx.replayable) {
          replay(request, reply, res.stream)
          return
        }
      }
    }
    deliver(request, reply, res, ctx.origin)
  }

  function replay (request: FastifyRequest, reply: FastifyReply, stream: Readable): void {
    const ctx = ctxOf(request)
    stream.resume()
    clearUpstreamHeaders(reply)
    ctx.replayed = true
    opts.onReplay?.()
    provider.getToken().then((token) => {
      ctx.token = token
      send(request, reply)
    }, (err: unknown) => { reply.send(err) })
  }

  function onError (reply: FastifyReply, { error }: { error: Error }): void {
    const ctx = reply.request.proxyCtx
    reply.send(mapUpstreamError(error, ctx?.origin ?? 'the API origin'))
  }

  await scope.register(httpProxy, {
    upstream: '',
    proxyPayloads: false,
    undici: opts.dispatcher as never,
    disableRequestLogging: true,
    internalRewriteLocationHeader: false,
    httpMethods: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'],
    preHandler,
    handler,
    replyOptions: {
      getUpstream: (request: FastifyRequest) => ctxOf(request).origin,
      queryString: (_search: unknown, reqUrl: string) => queryOf(reqUrl),
      rewriteRequestHeaders: (request: FastifyRequest, headers: Record<string, string | string[] | undefined>) => {
        const ctx = ctxOf(request)
        return upstreamRequestHeaders(headers, ctx.token.accessToken, String(headers.host), request.id)
      },
      rewriteHeaders: (headers: Record<string, string | string[] | undefined>, request: FastifyRequest) => {
        const out = downstreamResponseHeaders(headers)
        const location = out.location
        if (typeof location === 'string') {
          out.location = rewriteLocation(location, ctxOf(request).origin, opts.publicOrigin(request))
        }
        out['x-request-id'] = request.id
        return out
      },
      onResponse,
      onError,
      // A GET that meets a keep-alive socket the API already closed is sent once more.
      retryDelay: ({ err, req, attempt }: { err?: { code?: string } | null, req: { method: string }, attempt: number }) =>
        attempt === 0 && err != null && STALE_SOCKET.has(err.code ?? '') && (req.method === 'GET' || req.method === 'HEAD') ? 1 : null
    } as never
  })
}
