import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { ProxyError } from '../core/errors.js'

function tooLarge (max: number): ProxyError {
  return new ProxyError('payload_too_large', `the request body is larger than ${max} bytes (PROXY_MAX_BODY_BYTES)`)
}

/** Passes bytes through and fails the stream once more than `max` have gone by (chunked uploads). */
class ByteLimit extends Transform {
  #seen = 0
  readonly #max: number
  constructor (max: number) {
    super()
    this.#max = max
  }

  override _transform (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#seen += chunk.length
    if (this.#seen > this.#max) {
      cb(tooLarge(this.#max))
      return
    }
    cb(null, chunk)
  }
}

type Done = (err: Error | null, body?: unknown) => void

/**
 * The proxy's only body parser: small bodies with a Content-Length are buffered (so a 401 can be
 * replayed), everything else streams through a byte limit. Bodies are never parsed or re-encoded.
 */
export function createBodyParser (maxBytes: number, replayLimit: number) {
  return function parseBody (request: FastifyRequest, payload: Readable, done: Done): void {
    const header = request.headers['content-length']
    const declared = header === undefined ? NaN : Number(header)
    if (declared > maxBytes) {
      payload.resume()
      done(tooLarge(maxBytes))
      return
    }
    if (declared <= replayLimit) {
      const chunks: Buffer[] = []
      let size = 0
      payload.on('data', (chunk: Buffer) => {
        size += chunk.length
        chunks.push(chunk)
      })
      payload.once('error', (err) => { done(err) })
      payload.once('end', () => {
        if (size > maxBytes) done(tooLarge(maxBytes))
        else done(null, Buffer.concat(chunks, size))
      })
      return
    }
    const limited = new ByteLimit(maxBytes)
    // A client may give up while the token is still being fetched, before undici owns the body:
    // pipeline carries the error to `limited`, and nothing may throw it as an unhandled 'error'.
    pipeline(payload, limited, () => { /* reported to whoever reads `limited` */ })
    limited.on('error', () => { /* undici, once it reads the body, sees the error itself */ })
    done(null, limited)
  }
}
