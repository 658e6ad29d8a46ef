import type { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { ProxyError } from '../core/errors.js'

export interface BodyLimits {
  /** One body at most (PROXY_MAX_BODY_BYTES). */
  maxBytes: number
  /** All bodies held at once at most (PROXY_MAX_BUFFERED_BYTES): beyond, too_busy. */
  maxBufferedBytes: number
  /** The whole body must arrive within this time (PROXY_BODY_TIMEOUT_MS). */
  timeoutMs: number
}

type Done = (err: Error | null, body?: unknown) => void

/**
 * Request bodies are read whole before anything is forwarded: a caller trickling its upload never holds an
 * upstream connection (nginx's proxy_request_buffering), and the body is there to replay after a 401. Memory
 * is bounded by `maxBufferedBytes` across all requests; the bytes are never parsed or re-encoded.
 */
export class BodyBuffer {
  readonly #l: BodyLimits
  #held = 0

  constructor (limits: BodyLimits) {
    if (!(limits.maxBytes >= 0) || !(limits.maxBufferedBytes >= limits.maxBytes) || !(limits.timeoutMs > 0)) {
      throw new TypeError('BodyBuffer needs maxBytes ≥ 0, maxBufferedBytes ≥ maxBytes and timeoutMs > 0')
    }
    this.#l = limits
  }

  /** Gives back what a finished request held. */
  release (bytes: number): void {
    this.#held -= bytes
  }

  /** Fastify content-type parser for every type. */
  readonly parse = (_request: FastifyRequest, payload: Readable, done: Done): void => {
    const max = this.#l.maxBytes
    const chunks: Buffer[] = []
    let size = 0
    let finished = false
    const finish = (err: ProxyError | null): void => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      payload.removeListener('data', onData)
      if (err !== null) {
        this.#held -= size
        payload.resume()
        done(err)
        return
      }
      // Held until the answer is sent: the forwarding path releases it.
      done(null, size === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size))
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      this.#held += chunk.length
      chunks.push(chunk)
      if (size > max) finish(new ProxyError('payload_too_large', `the request body is larger than ${max} bytes (PROXY_MAX_BODY_BYTES)`))
      else if (this.#held > this.#l.maxBufferedBytes) finish(new ProxyError('too_busy', `request bodies already hold ${this.#l.maxBufferedBytes} bytes (PROXY_MAX_BUFFERED_BYTES): retry shortly`, { retryAfterSec: 1 }))
    }
    const timer = setTimeout(() => {
      finish(new ProxyError('request_timeout', `the request body did not arrive within ${this.#l.timeoutMs} ms (PROXY_BODY_TIMEOUT_MS)`))
    }, this.#l.timeoutMs)
    payload.on('data', onData)
    payload.once('error', (err) => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      this.#held -= size
      done(err)
    })
    payload.once('end', () => { finish(null) })
  }
}
