import { Readable, pipeline, type Transform } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import httpProxy from '@fastify/http-proxy'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import { ProxyError } from '../errors.js'
import type { TokenProvider } from '../token/token-provider.js'
import type { Discovery } from '../token/discovery.js'
import type { TokenSet } from '../token/token-client.js'
import { clearUpstreamHeaders, downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js'
import { buildRewrite, containsOrigin, LinkRewriter, rewriteChunk, rewriteLocation, type Rewrite } from './link-rewriter.js'
import { pathOf, queryOf } from './target.js'
import { routeClass } from '../admin/metrics.js'
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
/** JSON answers up to this size are read whole: one indexOf decides if any link needs rewriting. */
const SMALL_JSON = 256 * 1024
const JSON_TYPE = /\bjson\b/i
const STALE_SOCKET = new Set(['UND_ERR_SOCKET', 'ECONNRESET'])
const REFUSED_COOLDOWN_MS = 30_000

/**
 * Forwards everything outside /_proxy/ to the API origin with the bearer attached, on
 * @fastify/http-proxy: the token is taken in `preHandler`, headers are cleaned in
 * `rewriteRequestHeaders` / `rewriteHeaders`, 401 replay and link rewriting happen in `onResponse`.
 */
export async function forwardPlugin (scope: FastifyInstance, opts: ForwardOptions): Promise<void> {
  const { provider, discovery } = opts
  const rewrites = new Map<string, Rewrite>()
  // Route family → until when its 401s are passed through (bounded: families are a fixed set).
  const notAboutTheToken = new Map<string, number>()
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
    const origin = discovery.knownApiOrigin(token.tenantId) ?? (await discovery.apiOrigin(token.tenantId)).value
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

  function onResponse (request: FastifyRequest, reply: FastifyReply, res: { statusCode: number, headers: Record<string, string | string[] | undefined>, stream: Readable }): void {
    const ctx = ctxOf(request)
    ctx.upstreamMs = performance.now() - ctx.upstreamStart
    if (res.statusCode === 401) {
      const family = routeClass(pathOf(request.raw.url ?? ''))
      if (ctx.replayed) {
        // A fresh token was refused too: the 401 is not about the token (a permission, say). For a while,
        // this route family's 401s go to the caller without costing a token request each.
        notAboutTheToken.set(family, Date.now() + REFUSED_COOLDOWN_MS)
      } else if ((notAboutTheToken.get(family) ?? 0) < Date.now()) {
        provider.invalidate(ctx.token.accessToken)
        opts.onUpstream401?.()
        if (ctx.replayable) {
          replay(request, reply, res.stream)
          return
        }
      }
    }
    deliver(request, reply, res)
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

  function rewriteFor (request: FastifyRequest, origin: string): Rewrite {
    const to = opts.publicOrigin(request)
    const key = `${origin} ${to}`
    let rw = rewrites.get(key)
    if (rw === undefined) {
      if (rewrites.size > 64) rewrites.clear()
      rw = buildRewrite(origin, to)
      rewrites.set(key, rw)
    }
    return rw
  }

  function deliver (request: FastifyRequest, reply: FastifyReply, res: { statusCode: number, headers: Record<string, string | string[] | undefined>, stream: Readable }): void {
    const type = res.headers['content-type']
    if (typeof type !== 'string' || !JSON_TYPE.test(type) || request.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304) {
      if (request.method === 'HEAD' && typeof type === 'string' && JSON_TYPE.test(type) && isDecodable(res.headers['content-encoding'])) {
        // The same headers a GET would get: compressed JSON is decoded (and re-chunked) on its way out.
        reply.removeHeader('content-length')
        reply.removeHeader('content-encoding')
      }
      reply.send(res.stream)
      return
    }
    const ctx = ctxOf(request)
    const rw = rewriteFor(request, ctx.origin)
    const encoding = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
    const length = Number(res.headers['content-length'] ?? NaN)
    if (encoding === 'identity' && length <= SMALL_JSON) {
      readAll(res.stream).then((buf) => {
        if (!containsOrigin(buf, rw)) {
          reply.send(buf)
          return
        }
        const out = Buffer.concat(rewriteChunk(buf, rw, true).out)
        reply.header('content-length', out.length)
        reply.send(out)
      }, (err: unknown) => { reply.send(mapUpstreamError(err, ctx.origin)) })
      return
    }
    const decoder = decoderFor(encoding)
    if (decoder === null) {
      reply.send(res.stream)
      return
    }
    reply.removeHeader('content-length')
    reply.removeHeader('content-encoding')
    const rewriter = new LinkRewriter(rw)
    const onDone = (err: Error | null): void => {
      // A broken upstream stream must reach the caller as a broken response, never a short "complete" one.
      if (err !== null) rewriter.destroy(err)
    }
    if (decoder === undefined) pipeline(res.stream, rewriter, onDone)
    else pipeline(res.stream, decoder, rewriter, onDone)
    reply.send(rewriter)
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

function isDecodable (encoding: string | string[] | undefined): boolean {
  return typeof encoding === 'string' && ['gzip', 'x-gzip', 'deflate', 'br'].includes(encoding.trim().toLowerCase())
}

function decoderFor (encoding: string): Transform | undefined | null {
  switch (encoding) {
    case 'identity': return undefined
    case 'gzip':
    case 'x-gzip': return createGunzip()
    case 'deflate': return createInflate()
    case 'br': return createBrotliDecompress()
    default: return null
  }
}

/** Reads a small body whole (plain listeners: an async iterator costs more per response). */
async function readAll (stream: Readable): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => { chunks.push(chunk) })
    stream.once('error', reject)
    stream.once('end', () => { resolve(chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks)) })
  })
}

