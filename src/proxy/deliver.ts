import { pipeline, type Readable, type Transform } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { buildRewrite, containsOrigin, LinkRewriter, rewriteChunk, type Rewrite } from './link-rewriter.js'
import { mapUpstreamError } from './upstream-errors.js'

export interface UpstreamAnswer {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  stream: Readable
}

/** JSON answers up to this size are read whole: one indexOf decides if any link needs rewriting. */
const SMALL_JSON = 256 * 1024
const JSON_TYPE = /\bjson\b/i

/**
 * Sends the upstream's answer to the caller: as it came, except JSON, whose API-origin links are
 * rewritten to the proxy (small answers read whole, larger or compressed ones streamed through the rewriter).
 */
export function createDeliver (publicOrigin: (request: FastifyRequest) => string): (request: FastifyRequest, reply: FastifyReply, res: UpstreamAnswer, origin: string) => void {
  const rewrites = new Map<string, Rewrite>()

  function rewriteFor (request: FastifyRequest, origin: string): Rewrite {
    const to = publicOrigin(request)
    const key = `${origin} ${to}`
    let rw = rewrites.get(key)
    if (rw === undefined) {
      if (rewrites.size > 64) rewrites.clear()
      rw = buildRewrite(origin, to)
      rewrites.set(key, rw)
    }
    return rw
  }

  return function deliver (request: FastifyRequest, reply: FastifyReply, res: UpstreamAnswer, origin: string): void {
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
    const rw = rewriteFor(request, origin)
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
      }, (err: unknown) => { reply.send(mapUpstreamError(err, origin)) })
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

