/**
 * A request's journey: everything one forwarded request comes to hold on its way (its pipelined turn, its body
 * bytes, its quota ticket, its place upstream, its flight membership) and what the forwarding path learns of it
 * (its context, for the request log). One object per request, made in the forwarding plugin's onRequest hook,
 * with one release, called from the one close listener on the caller's response: it gives everything back, and
 * aborts the upstream call for a caller who left.
 */
import type { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'
import type { Clock } from '../core/clock.js'
import type { TokenSet } from '../token/token-client.js'
import type { TenantHosts } from '../token/discovery.js'
import type { LimitTicket } from '../quota/caller-limits.js'
import type { QuotaGuard, QuotaTicket } from '../quota/quota.js'
import type { WholeResponse } from '../quota/coalesce.js'
import type { Share } from '../quota/sharing.js'
import type { BodyBuffer } from './body.js'
import type { UpstreamGate } from './gate.js'

/** The caller's response as undici's abort signal: `aborted` is set and `abort` emitted when the caller has gone. */
type CallerSignal = ServerResponse & { aborted?: boolean }
type AbortSignalLike = EventEmitter & { aborted?: boolean }

/** What the forwarding path knows of the call made (or shared) for a request; read by the request log. */
export interface RequestContext {
  token: TokenSet
  /** The named upstream the routing table chose (`api`, `ui`, `digital` or a configured one). */
  upstream: string
  origin: string
  /** The tenant's upstream origins, for rewriting links that route back to them. */
  hosts: TenantHosts
  /** The whole body (read by body.ts), kept for a replay after a 401. */
  body: Buffer | undefined
  replayed: boolean
  upstreamStart: number
  upstreamMs: number | undefined
  /**
   * undici's abort signal: the caller's response, which emits `abort` when the caller goes away before its
   * response; for a flight's leader, its flight's signal, which does so when every caller has gone.
   */
  caller: AbortSignalLike
}

/** How the quota was spared for a request, for the log line: shared a call in flight, cached, or shielded. */
type Spared = 'coalesced' | 'cache' | 'shielded'

/** The components a journey gives back to; one set per forwarding plugin. */
export interface JourneyDeps {
  readonly gate: UpstreamGate
  readonly bodies: BodyBuffer
  readonly quota: QuotaGuard
}

/** How long a caller's response may make no progress while it holds a place upstream, on which clock. */
export interface StallBound {
  readonly clock: Clock
  readonly ms: number
}

/** Turn in the pipelined order of its connection (gate.ts). */
interface Turn {
  readonly wait: Promise<void> | undefined
  readonly answered: () => void
}

export class Journey {
  /** The upstream the routing table chose for its path. */
  upstream = 'api'
  ctx: RequestContext | undefined = undefined
  spared: Spared | undefined = undefined
  /** A micro-cache hit: the stored response and its Age and Cache-Status. */
  hit: { readonly response: WholeResponse, readonly extra: Record<string, string> } | undefined = undefined
  /** The flight it leads or joined; absent when it makes a call of its own. */
  share: Share<RequestContext> | undefined = undefined
  /** Its place behind a 429 shield's probe and in a pace lane. */
  ticket: QuotaTicket | undefined = undefined
  /** issue 22: its place in its named caller's share (caller-limits.ts), for a call of its own. */
  limit: LimitTicket | undefined = undefined
  /** issue 22: whose place it holds in the upstream gate (its named caller; '' without callers), for a fair share. */
  owner = ''
  #bodyBytes = 0
  /** A place in the upstream gate: its own, or its flight's (given back when the flight ends). */
  #place: 'none' | 'own' | 'flight' = 'none'
  #released = false
  /** Set once CXone has answered: how long the caller's response may make no progress while it holds a place. */
  #stall: StallBound | undefined = undefined
  #stallTimer: unknown = undefined

  constructor (readonly deps: JourneyDeps, readonly caller: CallerSignal, readonly turn: Turn) {}

  /** The signal its call is made under: its flight's when it leads one, else its caller's. */
  get signal (): AbortSignalLike {
    return this.share?.flight.signal ?? this.caller
  }

  get holdsPlace (): boolean {
    return this.#place !== 'none'
  }

  /** Its body arrived: held until the release, or given back at once if its caller has gone meanwhile. */
  holdBody (bytes: number): void {
    if (this.caller.aborted === true) this.deps.bodies.release(bytes)
    else this.#bodyBytes = bytes
  }

  /** A place was taken in the gate. A flight's leader holds it for the flight, whose followers need it still. */
  takePlace (): void {
    const share = this.share
    if (share === undefined) {
      this.#place = 'own'
      return
    }
    this.#place = 'flight'
    share.flight.whenEnded(() => {
      if (this.#place !== 'flight') return
      this.#place = 'none'
      this.deps.gate.leave(this.owner)
    })
  }

  /** The leader streams a response too large to share: the flight ends, and the place becomes its own. */
  keepPlace (): void {
    if (this.#place === 'flight' && !this.#released) this.#place = 'own'
    this.#watchStall()
  }

  /**
   * CXone has answered (after any replay): the body kept for a replay is given back to the body budget now. From here
   * a caller who holds a place upstream of its own must keep reading: one whose response has made no progress for
   * `stall.ms` (the upstream timeout, the idle bound undici puts on the API's side) is cut off (issue 24 #1). A
   * flight's leader holds the flight's place only while the answer is read for sharing, which undici bounds.
   */
  answered (stall: StallBound): void {
    this.deps.bodies.release(this.#bodyBytes)
    this.#bodyBytes = 0
    if (this.ctx !== undefined) this.ctx.body = undefined
    this.#stall = stall
    this.#watchStall()
  }

  /** Checks every `ms` that the caller's socket took more bytes since the last check; else ends the response. */
  #watchStall (): void {
    const stall = this.#stall
    const caller = this.caller
    if (this.#place !== 'own' || stall === undefined || this.#stallTimer !== undefined || this.#released || caller.writableFinished) return
    let written = -1
    const check = (): void => {
      this.#stallTimer = undefined
      if (this.#released || caller.writableFinished) return
      const now = caller.socket?.bytesWritten ?? 0
      if (now === written) {
        caller.destroy()
        return
      }
      written = now
      this.#stallTimer = stall.clock.setTimeout(check, stall.ms)
    }
    check()
  }

  /** Everything back, once. */
  release (): void {
    if (this.#released) return
    this.#released = true
    if (this.#stallTimer !== undefined) this.#stall?.clock.clearTimeout(this.#stallTimer)
    const { gate, bodies, quota } = this.deps
    this.turn.answered()
    // A flight's leader holds its shield and pace places for the whole flight, whose call goes on for the others.
    const share = this.share
    const ticket = this.ticket
    if (share?.leads === true && !share.flight.ended) share.flight.whenEnded(() => { quota.leave(ticket) })
    else quota.leave(ticket)
    const limit = this.limit
    if (limit !== undefined) {
      if (share?.leads === true && !share.flight.ended) share.flight.whenEnded(limit.release)
      else limit.release()
    }
    if (this.#place === 'own') {
      this.#place = 'none'
      gate.leave(this.owner)
    }
    bodies.release(this.#bodyBytes)
    this.#bodyBytes = 0
    const caller = this.caller
    if (!caller.writableFinished) {
      caller.aborted = true
      caller.emit('abort')
    }
    if (share !== undefined) share.flight.leave(share.member)
  }
}
