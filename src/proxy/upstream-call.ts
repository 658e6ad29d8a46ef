/**
 * One call upstream as undici's dispatch handler (issue 26): what `dispatcher.request()` does, without its cost
 * where it buys nothing. A response the caller gets whole anyway (a small JSON body sent as it is, whose links
 * respond.ts rewrites in one pass) is collected straight from undici's parser, with no stream, no async resource
 * and no listener per chunk; every other response is undici's own body stream, built as `request()` builds it
 * (its abort, its back-pressure, its length checks).
 *
 * The callback is called once: with the response at its headers (a stream), or at its end (`whole`, its headers
 * time in `headersAt`); a body that breaks after its headers comes as `bodyError` with the status, as a stream
 * that breaks does; an error before any headers comes as `err`.
 */
import type { Readable } from 'node:stream'
import { errors, util, type Dispatcher } from 'undici'
// undici's body stream, as request() gives it (not part of undici's API: the bundle pins undici's version).
import { Readable as BodyReadable } from 'undici/lib/api/readable.js'

/** JSON bodies up to this size are read whole: one indexOf decides if any link needs rewriting (respond.ts). */
export const SMALL_JSON = 256 * 1024
export const JSON_TYPE = /\bjson\b/i

/** What respond.ts reads whole anyway: a JSON body, not encoded, of a known length up to SMALL_JSON. */
export function readWhole (headers: Record<string, string | string[] | undefined>): boolean {
  const type = headers['content-type']
  if (typeof type !== 'string' || !JSON_TYPE.test(type)) return false
  const encoding = headers['content-encoding']
  if (encoding !== undefined && String(encoding).trim().toLowerCase() !== 'identity') return false
  return Number(headers['content-length'] ?? NaN) <= SMALL_JSON
}

export interface UpstreamAnswer {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  /** The body as a stream; absent when it was read whole. */
  body: Readable | undefined
  /** The body, read whole (or empty with `bodyError`). */
  whole: Buffer | undefined
  /** The body broke after the headers came (read whole). */
  bodyError: Error | undefined
  /** performance.now() when the headers came. */
  headersAt: number
}

type Callback = (err: Error | null, res: UpstreamAnswer | undefined) => void

/** An EventEmitter-like signal: the caller's response, whose 'abort' journey.ts emits, or an AbortSignal. */
interface Signal {
  aborted?: boolean
  reason?: unknown
  once?: (event: 'abort', listener: () => void) => unknown
  removeListener?: (event: 'abort', listener: () => void) => unknown
  addEventListener?: (event: 'abort', listener: () => void, opts: { once: boolean }) => void
  removeEventListener?: (event: 'abort', listener: () => void) => void
}

const noop = (): void => {}
export const EMPTY = Buffer.alloc(0)

/** A body's chunks as they come, joined once at the end (a body of one chunk is that chunk, not a copy). */
export class BodyChunks {
  #first: Buffer | undefined = undefined
  #rest: Buffer[] | undefined = undefined

  add (chunk: Buffer): void {
    if (this.#first === undefined) this.#first = chunk
    else (this.#rest ??= [this.#first]).push(chunk)
  }

  whole (): Buffer {
    return this.#rest !== undefined ? Buffer.concat(this.#rest) : this.#first ?? EMPTY
  }
}

export class UpstreamCall implements Dispatcher.DispatchHandler {
  #callback: Callback | null
  readonly #method: string
  /** The caller may get the body whole (a call of its own, not a HEAD). */
  readonly #mayCollect: boolean
  #abort: ((reason?: Error) => void) | null = null
  #reason: Error | null = null
  #removeAbortListener: (() => void) | null = null
  #stream: InstanceType<typeof BodyReadable> | null = null
  #collecting: { statusCode: number, headers: UpstreamAnswer['headers'], headersAt: number, body: BodyChunks } | null = null

  constructor (method: string, signal: Signal | null | undefined, mayCollect: boolean, callback: Callback) {
    this.#method = method
    this.#mayCollect = mayCollect
    this.#callback = callback
    if (signal?.aborted === true) this.#reason = reasonOf(signal)
    else if (signal != null) this.#removeAbortListener = onAbort(signal, () => { this.#aborted(signal) })
  }

  #aborted (signal: Signal): void {
    this.#reason = reasonOf(signal)
    if (this.#stream !== null) destroy(this.#stream, this.#reason)
    else if (this.#abort !== null) this.#abort(this.#reason)
  }

  onConnect (abort: (err?: Error) => void): void {
    if (this.#reason !== null) {
      abort(this.#reason)
      return
    }
    this.#abort = abort
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true
    const headers = util.parseHeaders(rawHeaders) as UpstreamAnswer['headers']
    const callback = this.#callback
    if (this.#mayCollect && statusCode !== 204 && statusCode !== 304 && readWhole(headers)) {
      this.#collecting = { statusCode, headers, headersAt: performance.now(), body: new BodyChunks() }
      return true
    }
    const contentLength = headers['content-length']
    const stream = new BodyReadable({
      resume,
      abort: this.#abort as () => void,
      contentType: typeof headers['content-type'] === 'string' ? headers['content-type'] : '',
      ...(this.#method !== 'HEAD' && contentLength !== undefined ? { contentLength: Number(contentLength) } : {})
    })
    if (this.#removeAbortListener !== null) {
      stream.on('close', this.#removeAbortListener)
      this.#removeAbortListener = null
    }
    this.#stream = stream
    this.#callback = null
    callback?.(null, { statusCode, headers, body: stream, whole: undefined, bodyError: undefined, headersAt: performance.now() })
    return true
  }

  onData (chunk: Buffer): boolean {
    const c = this.#collecting
    if (c === null) return (this.#stream as InstanceType<typeof BodyReadable>).push(chunk)
    c.body.add(chunk)
    return true
  }

  onComplete (): void {
    const c = this.#collecting
    if (c === null) {
      this.#stream?.push(null)
      return
    }
    this.#done()
    this.#answer({ statusCode: c.statusCode, headers: c.headers, body: undefined, whole: c.body.whole(), bodyError: undefined, headersAt: c.headersAt })
  }

  onError (err: Error): void {
    const c = this.#collecting
    this.#done()
    if (c !== null) {
      this.#answer({ statusCode: c.statusCode, headers: c.headers, body: undefined, whole: EMPTY, bodyError: err, headersAt: c.headersAt })
      return
    }
    const callback = this.#callback
    if (callback !== null) {
      this.#callback = null
      queueMicrotask(() => { callback(err, undefined) })
    }
    const stream = this.#stream
    if (stream !== null) {
      this.#stream = null
      // As undici does: handlers queued before the error run first.
      queueMicrotask(() => { destroy(stream, err) })
    }
  }

  #answer (res: UpstreamAnswer): void {
    const callback = this.#callback
    this.#callback = null
    this.#collecting = null
    callback?.(null, res)
  }

  #done (): void {
    if (this.#removeAbortListener !== null) {
      this.#removeAbortListener()
      this.#removeAbortListener = null
    }
  }
}

function destroy (stream: Readable, err: Error): void {
  if (!stream.destroyed) stream.on('error', noop).destroy(err)
}

function reasonOf (signal: Signal): Error {
  return signal.reason instanceof Error ? signal.reason : new errors.RequestAbortedError()
}

function onAbort (signal: Signal, listener: () => void): () => void {
  if (typeof signal.addEventListener === 'function') {
    signal.addEventListener('abort', listener, { once: true })
    return () => { signal.removeEventListener?.('abort', listener) }
  }
  signal.once?.('abort', listener)
  return () => { signal.removeListener?.('abort', listener) }
}
