/**
 * Coalescing of identical reads in flight (PROXY_COALESCE, on by default): a GET or HEAD without a body that
 * arrives while the same request of the same profile is in flight upstream joins that flight instead of making its
 * own call. One upstream call; every member gets the same status, headers and body, delivered to it as its own
 * answer (its own X-Request-Id, links rewritten to the origin it called).
 *
 * A flight has its own abort signal: a member who leaves does not cancel the others, and the upstream call is
 * cancelled only when every member has gone.
 *
 * Memory is bounded: an answer is shared only when it is read whole within MAX_SHARED_ANSWER_BYTES, and all the
 * answers being read at once within MAX_SHARED_HELD_BYTES. A larger answer (or one arriving while that total is
 * used) is streamed to the member who made the call, and every other member is sent on to make its own: a member
 * never gets a partial, truncated or mixed answer.
 */
import { EventEmitter } from 'node:events'
import type { IncomingHttpHeaders } from 'node:http'
import { PassThrough, type Readable } from 'node:stream'
import type { TenantHosts } from '../token/discovery.js'

/** The largest answer shared among the members of a flight (and stored by the micro-cache). */
export const MAX_SHARED_ANSWER_BYTES = 1024 * 1024
/** Bytes of answers being read to be shared, across all flights of one forwarder, at most. */
export const MAX_SHARED_HELD_BYTES = 32 * 1024 * 1024

/** Headers that make an answer depend on what the caller already holds: such requests are never shared. */
const CONDITIONAL = ['range', 'if-range', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since']
const EVENT_STREAM = /\btext\/event-stream\b/i

/** Where a response came from, for rewriting its links: the upstream's origin and the tenant's upstreams. */
export interface UpstreamSource {
  readonly origin: string
  readonly hosts: TenantHosts
}

/** An upstream response read whole: what members of a flight share and what the micro-cache keeps. */
export interface WholeResponse {
  readonly statusCode: number
  /** The upstream's headers, as undici gave them (each member's are cleaned and rewritten on delivery). */
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: Buffer
  /** The upstream origin it came from and the tenant's upstreams, for rewriting its links on delivery. */
  readonly source: UpstreamSource
}

/** How a flight ends for each member: the shared response `A`, the shared error, or "make your own call". */
export type Outcome<A> =
  | { readonly kind: 'response', readonly response: A }
  | { readonly kind: 'error', readonly error: Error }
  | { readonly kind: 'alone' }

/** One caller in a flight: `outcome` settles when the flight ends for it (never, if it left first). */
export class Member<A> {
  readonly outcome: Promise<Outcome<A>>
  settle: (outcome: Outcome<A>) => void = () => {}

  /** `headers`: its request's, to check an answer's Vary against. */
  constructor (readonly headers: IncomingHttpHeaders = {}) {
    this.outcome = new Promise((resolve) => { this.settle = resolve })
  }
}

/** undici takes an EventEmitter as its abort signal: `aborted` set and `abort` emitted when the last member left. */
export class FlightSignal extends EventEmitter {
  aborted = false
}

export class Flight<A> {
  readonly signal = new FlightSignal()
  readonly #members = new Set<Member<A>>()
  readonly #forget: (flight: Flight<A>) => void
  readonly #onEnd: Array<() => void> = []
  #ended = false

  constructor (readonly key: string, forget: (flight: Flight<A>) => void) {
    this.#forget = forget
  }

  /** Runs `fn` once the flight has ended, however it ends (at once if it has). */
  whenEnded (fn: () => void): void {
    if (this.#ended) fn()
    else this.#onEnd.push(fn)
  }

  get ended (): boolean {
    return this.#ended
  }

  join (member: Member<A>): void {
    this.#members.add(member)
  }

  /** Ends the flight: every member still here gets `outcome`, except `except` (who has been answered otherwise). */
  end (outcome: Outcome<A>, except?: Member<A>): void {
    this.endEach(() => outcome, except)
  }

  /** Ends the flight with an outcome chosen for each member still here (a shared answer may not suit them all). */
  endEach (outcomeFor: (member: Member<A>) => Outcome<A>, except?: Member<A>): void {
    if (this.#ended) return
    this.#finish()
    const members = [...this.#members]
    this.#members.clear()
    for (const m of members) if (m !== except) m.settle(outcomeFor(m))
  }

  /** A member's caller has gone before the flight ended (its journey's release says so). */
  leave (member: Member<A>): void {
    if (this.#ended || !this.#members.delete(member)) return
    if (this.#members.size > 0) return
    // The last member has gone: nobody wants the answer, so the call upstream is cancelled.
    this.signal.aborted = true
    this.signal.emit('abort')
    this.#finish()
  }

  #finish (): void {
    this.#ended = true
    this.#forget(this)
    for (const fn of this.#onEnd.splice(0)) fn()
  }
}

export interface CoalescerOptions {
  /** Identical requests join a flight in progress (PROXY_COALESCE); false: every flight has one member. */
  enabled: boolean
}

/** The flights in progress of one forwarder (so one profile), by key, and the bytes their answers hold. */
export class Coalescer<A> {
  readonly enabled: boolean
  readonly #flights = new Map<string, Flight<A>>()
  #held = 0

  constructor (o: CoalescerOptions) {
    this.enabled = o.enabled
  }

  /** The flight a request with this key may join, if coalescing is on and one is in progress. */
  find (key: string): Flight<A> | undefined {
    return this.enabled ? this.#flights.get(key) : undefined
  }

  /** A new flight; joinable by others only when coalescing is on. */
  start (key: string): Flight<A> {
    const flight = new Flight<A>(key, (f) => { if (this.#flights.get(f.key) === f) this.#flights.delete(f.key) })
    if (this.enabled) this.#flights.set(key, flight)
    return flight
  }

  /**
   * Reads an answer body whole when it fits the bounds (`whole`, whose bytes stay counted until `release`), or
   * gives back a stream of all of it, read or not (`rest`): the answer is then too large to share.
   */
  read (stream: Readable, declaredLength: number, done: (err: Error | null, r?: { whole: Buffer } | { rest: Readable }) => void): void {
    if (declaredLength > MAX_SHARED_ANSWER_BYTES || this.#held + Math.max(0, declaredLength) > MAX_SHARED_HELD_BYTES) {
      done(null, { rest: stream })
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = (): void => {
      stream.removeListener('data', onData)
      stream.removeListener('end', onEnd)
      stream.removeListener('error', onError)
    }
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length <= MAX_SHARED_ANSWER_BYTES && this.#held + chunk.length <= MAX_SHARED_HELD_BYTES) {
        size += chunk.length
        this.#held += chunk.length
        chunks.push(chunk)
        return
      }
      // Over a bound: what was read and the rest go, as one stream, to the member who made the call.
      cleanup()
      stream.pause()
      this.#held -= size
      const rest = new PassThrough()
      for (const c of chunks) rest.write(c)
      rest.write(chunk)
      stream.once('error', (err) => { rest.destroy(err) })
      // A caller who leaves destroys what it reads: the upstream answer is then dropped too.
      rest.once('close', () => { if (!stream.readableEnded) stream.destroy() })
      stream.pipe(rest)
      done(null, { rest })
    }
    const onEnd = (): void => {
      cleanup()
      done(null, { whole: chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, size) })
    }
    const onError = (err: Error): void => {
      cleanup()
      this.#held -= size
      done(err)
    }
    stream.on('data', onData)
    stream.once('end', onEnd)
    stream.once('error', onError)
  }

  /** Gives back the bytes of an answer read whole, once every member has been handed it. */
  release (bytes: number): void {
    this.#held -= bytes
  }
}

/**
 * A read that may be shared: GET or HEAD, no body, no conditional or range header, not asking for a stream of
 * events (each caller of a stream gets its own, as the events come).
 */
export function shareable (method: string, headers: IncomingHttpHeaders): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false
  for (const name of CONDITIONAL) if (headers[name] !== undefined) return false
  return headers.accept === undefined || !EVENT_STREAM.test(headers.accept)
}

/**
 * What makes two reads the same: the profile, the upstream, the method, the raw target byte for byte, and the
 * caller's Accept and Accept-Encoding (the headers the answer's representation depends on).
 */
export function shareKey (upstream: string, method: string, rawUrl: string, headers: IncomingHttpHeaders): string {
  return `${upstream}\n${method}\n${rawUrl}\n${headerText(headers.accept)}\n${headerText(headers['accept-encoding'])}`
}

function headerText (value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : value ?? ''
}
