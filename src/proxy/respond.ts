/**
 * The response stage: an upstream response (its own, a flight's, or the micro-cache's) to one caller. Headers
 * cleaned of hop-by-hop fields and their links rewritten in one scan (headers.ts), the caller's own X-Request-Id,
 * then the body: as it came, except JSON, whose API-origin links are rewritten to the proxy (small bodies read
 * whole, larger or compressed ones streamed through the rewriter).
 */
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RoutingTable } from '../core/routing.js'
import { upstreamOrigin } from '../token/upstreams.js'
import type { UpstreamSource } from '../quota/coalesce.js'
import { downstreamResponseHeaders, type LinkRewrite } from './headers.js'
import { buildRewrite, containsOrigin, LinkRewriter, rewriteChunk, rewriteHeaderValue, rewriteLocation, type KnownOrigin, type Rewrite } from './link-rewriter.js'
import { BodyChunks, EMPTY, JSON_TYPE, readWhole } from './upstream-call.js'
import { mapUpstreamError } from './upstream-errors.js'

/** A response from upstream as undici gives it, or one read whole and replayed from memory. */
interface UpstreamResponse {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  /** The body as a stream, unless the upstream call read it whole (upstream-call.ts). */
  stream: Readable | undefined
  /** The body read whole by the upstream call: a small JSON body (readWhole). */
  whole?: Buffer | undefined
  /** The whole body broke after its headers. */
  bodyError?: Error | undefined
}

interface ResponderOptions {
  /** The routing table in force: links are rewritten only when their path routes back to their origin. */
  routing: () => RoutingTable
  /** The proxy's own origin for rewritten links (PROXY_PUBLIC_URL or the caller's Host). */
  publicOrigin: (request: FastifyRequest) => string
}

export class Responder {
  readonly #o: ResponderOptions
  // The rewrite for the last (table, tenant hosts, public origin) used: nearly every request reuses it.
  #last: { table: RoutingTable, hosts: UpstreamSource['hosts'], to: string, rw: Rewrite, links: LinkRewrite } | undefined

  constructor (o: ResponderOptions) {
    this.#o = o
  }

  /** One caller's response: headers cleaned, links rewritten to the origin it called, its own id, `extra` added. */
  respond (request: FastifyRequest, reply: FastifyReply, source: UpstreamSource, res: UpstreamResponse, extra: Record<string, string> | undefined): void {
    const { rw, links } = this.#rewriteFor(request, source)
    const headers = downstreamResponseHeaders(res.headers, links)
    headers['x-request-id'] = request.id
    if (extra !== undefined) Object.assign(headers, extra)
    reply.code(res.statusCode)
    reply.headers(headers)
    deliver(request, reply, res, source.origin, rw)
  }

  /** Links on any known upstream origin that route back to it are rewritten to the proxy's origin. */
  #rewriteFor (request: FastifyRequest, source: UpstreamSource): { rw: Rewrite, links: LinkRewrite } {
    const table = this.#o.routing()
    const to = this.#o.publicOrigin(request)
    const last = this.#last
    if (last?.table === table && last.hosts === source.hosts && last.to === to) return last
    const byOrigin = new Map<string, string[]>()
    for (const name of table.upstreams) {
      const origin = upstreamOrigin(name, source.hosts)
      if (typeof origin === 'string') byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), name])
    }
    const known: KnownOrigin[] = [...byOrigin].map(([origin, upstreams]) => ({ origin, upstreams }))
    const rw = buildRewrite(known, to, table)
    const links: LinkRewrite = (value, kind) => kind === 'url' ? rewriteLocation(value, rw) : rewriteHeaderValue(value, rw)
    this.#last = { table, hosts: source.hosts, to, rw, links }
    return this.#last
  }
}

/** The body, its headers already on the reply. */
function deliver (request: FastifyRequest, reply: FastifyReply, res: UpstreamResponse, origin: string, rw: Rewrite): void {
  if (res.whole !== undefined) {
    sendWhole(reply, res.bodyError, res.whole, origin, res.statusCode, rw)
    return
  }
  const stream = res.stream ?? Readable.from([])
  const type = res.headers['content-type']
  if (bodiless(request.method, res.statusCode)) {
    if (request.method === 'HEAD' && typeof type === 'string' && JSON_TYPE.test(type) && isDecodable(res.headers['content-encoding'])) {
      // The same headers a GET would get: compressed JSON is decoded (and re-chunked) on its way out.
      reply.removeHeader('content-length')
      reply.removeHeader('content-encoding')
    }
    drain(stream)
    reply.send()
    return
  }
  if (typeof type !== 'string' || !JSON_TYPE.test(type)) {
    reply.send(stream)
    return
  }
  const encoding = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
  if (readWhole(res.headers)) {
    readAll(stream, (err, buf) => { sendWhole(reply, err, buf, origin, res.statusCode, rw) })
    return
  }
  const decoder = decoderFor(encoding)
  if (decoder === null) {
    reply.send(stream)
    return
  }
  reply.removeHeader('content-length')
  reply.removeHeader('content-encoding')
  const rewriter = new LinkRewriter(rw)
  const onDone = (err: Error | null): void => {
    // A broken upstream stream must reach the caller as a broken response, never a short "complete" one.
    if (err !== null) rewriter.destroy(err)
  }
  if (decoder === undefined) pipeline(stream, rewriter, onDone)
  else pipeline(stream, decoder, rewriter, onDone)
  reply.send(rewriter)
}

/** A small JSON body, read whole: sent as it is unless one of its links needs rewriting; broken, the caller's error. */
function sendWhole (reply: FastifyReply, err: Error | undefined, buf: Buffer, origin: string, statusCode: number, rw: Rewrite): void {
  if (err !== undefined) {
    reply.send(mapUpstreamError(err, origin, statusCode))
    return
  }
  if (!containsOrigin(buf, rw)) {
    reply.send(buf)
    return
  }
  const out = Buffer.concat(rewriteChunk(buf, rw, true).out)
  reply.header('content-length', out.length)
  reply.send(out)
}

/** A response with no body by definition (RFC 9110 §6.4.1): to HEAD, or 204 and 304. */
export function bodiless (method: string, statusCode: number): boolean {
  return method === 'HEAD' || statusCode === 204 || statusCode === 304
}

/**
 * Reads and drops a bodiless response's stream, whatever Content-Length says: a 304 may carry the length of the
 * representation it stands for, and undici then reports a length mismatch that is no error of the API's.
 */
export function drain (stream: Readable): void {
  stream.on('error', () => {})
  stream.resume()
}

function isDecodable (encoding: string | string[] | undefined): boolean {
  return typeof encoding === 'string' && ['gzip', 'x-gzip', 'deflate', 'br'].includes(encoding.trim().toLowerCase())
}

function decoderFor (encoding: string): Transform | undefined | null {
  switch (encoding) {
    case 'identity': return undefined
    case 'gzip':
    case 'x-gzip': return createGunzip()
    case 'deflate': return new AutoInflate()
    case 'br': return createBrotliDecompress()
    default: return null
  }
}

/**
 * Reads a small body whole, then calls back once: with its bytes, or with the stream's error (plain listeners and
 * no promise: an async iterator or a promise costs more per response).
 */
function readAll (stream: Readable, done: (err: Error | undefined, body: Buffer) => void): void {
  const body = new BodyChunks()
  let settled = false
  stream.on('data', (chunk: Buffer) => { body.add(chunk) })
  stream.once('error', (err) => {
    if (settled) return
    settled = true
    done(err, EMPTY)
  })
  stream.once('end', () => {
    if (settled) return
    settled = true
    done(undefined, body.whole())
  })
}

/**
 * "deflate" is zlib-wrapped by RFC 9110 §8.4.1.2, but some servers send raw deflate: the first two bytes tell
 * which (a zlib header has CM=8 and a 16-bit value divisible by 31).
 */
class AutoInflate extends Transform {
  #inner: Transform | undefined

  override _transform (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.#inner === undefined) {
      const b0 = chunk[0] ?? 0
      const b1 = chunk[1] ?? 0
      const inner = (b0 & 0x0f) === 8 && ((b0 << 8) | b1) % 31 === 0 ? createInflate() : createInflateRaw()
      inner.on('data', (d: Buffer) => { this.push(d) })
      inner.once('error', (err) => { this.destroy(err) })
      this.#inner = inner
    }
    this.#inner.write(chunk, () => { cb() })
  }

  override _flush (cb: TransformCallback): void {
    if (this.#inner === undefined) {
      cb()
      return
    }
    this.#inner.once('end', () => { cb() })
    this.#inner.end()
  }
}
