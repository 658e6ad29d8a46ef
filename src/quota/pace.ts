/**
 * Pacing of the routes NICE paces (the "pace" setting). Each rule is a lane: at most `maxConcurrent` matching
 * requests at once, at least `minIntervalMs` from one's start to the next one's, the rest queued. A request
 * that could not start within PROXY_PACE_MAX_WAIT_MS gets 503 too_busy with Retry-After; so does one that could not
 * even by then (the lane's intervals alone say so), at once, rather than after holding its caller for nothing.
 *
 * The first rule that matches a request is its lane. Rules match like the "routes" allow-list (`*` one segment,
 * `**` any rest), case-insensitively, on the path a server would act on. A lane belongs to one forwarding plugin,
 * so to one profile: NICE's Data Extraction limit is per tenant, whichever host the call goes to.
 *
 * Fair between named callers (issue 22), as the upstream gate is: a lane's turn goes to the oldest waiter of the
 * caller (its owner) holding the fewest of the lane's places, then of the one served least recently. So a caller that
 * queues ten job creations delays another's one by one turn, not ten. Without callers every request has the same
 * owner (''), and this is plain FIFO.
 */
import type { PaceRule } from '../core/config.js'
import type { Clock } from '../core/clock.js'
import { ProxyError } from '../core/errors.js'
import { removeFrom, Waiting } from './waiting.js'
import { compileRoute, pathOf, serverView } from '../core/paths.js'

export interface PaceWaited {
  profile: string
  /** The rule as written in the config file. */
  rule: string
  waitedMs: number
  /** Started after waiting; refused past the wait; or its caller left while queued. */
  outcome: 'started' | 'too_busy' | 'left'
}

export interface PacerOptions {
  profile: string
  rules: readonly PaceRule[]
  /** PROXY_PACE_MAX_WAIT_MS. */
  maxWaitMs: number
  /** Requests queued in one lane at most; beyond, too_busy at once. */
  maxQueued: number
  /** Monotonic time for the intervals, and the lanes' timers. */
  clock: Clock
  /** Told of every request that had to queue, once it starts, is refused or leaves. */
  onWait?: (e: PaceWaited) => void
}

interface Lane {
  readonly rule: PaceRule
  readonly match: (method: string, path: string) => boolean
  active: number
  lastStart: number
  readonly queue: PaceTicket[]
  timer: unknown
  /** Places each owner holds in the lane (none: absent), and when each was last given one (bounded by the callers). */
  readonly held: Map<string, number>
  readonly served: Map<string, number>
}

/** One request's place in a lane. */
export class PaceTicket {
  state: 'waiting' | 'running' | 'done' = 'waiting'
  readonly lane: Lane
  readonly since: number
  /** Its caller's name ('' without callers): whose turn it takes. */
  readonly owner: string
  /** Its place in the queue (undefined when it started at once). */
  waiting: Waiting | undefined
  /** The lane's last start before this one took it, and this one's: a request never sent gives the interval back. */
  startedAt = -Infinity
  previousStart = -Infinity
  sentUpstream = false

  constructor (lane: Lane, since: number, owner: string) {
    this.lane = lane
    this.since = since
    this.owner = owner
  }

  /** Settles when the request may start (undefined when it started at once). */
  get wait (): Promise<void> | undefined {
    return this.waiting?.promise
  }
}

export class Pacer {
  readonly #o: PacerOptions
  readonly #now: () => number
  readonly #clock: Clock
  readonly #lanes: Lane[]
  /** Methods some rule names ('*' for any): a request of another method costs one set look-up. */
  readonly #methods: ReadonlySet<string>

  constructor (o: PacerOptions) {
    if (!(o.maxWaitMs >= 0) || !(o.maxQueued >= 0)) throw new TypeError('Pacer needs maxWaitMs ≥ 0 and maxQueued ≥ 0')
    for (const r of o.rules) {
      if (!(r.maxConcurrent >= 1) || !(r.minIntervalMs >= 0)) throw new TypeError(`pace rule ${r.route} needs maxConcurrent ≥ 1 and minIntervalMs ≥ 0`)
    }
    this.#o = o
    this.#clock = o.clock
    this.#now = o.clock.monotonic
    this.#lanes = o.rules.map((rule) => ({
      rule,
      match: compileRoute({ method: rule.method, pattern: rule.pattern.toLowerCase() }),
      active: 0,
      lastStart: -Infinity,
      queue: [],
      timer: undefined,
      held: new Map(),
      served: new Map()
    }))
    this.#methods = new Set(o.rules.map((r) => r.method))
  }

  /**
   * Takes a place in the request's lane: started at once, or queued (`wait`). Throws too_busy when it cannot be.
   * `owner`: the request's named caller.
   */
  enter (method: string, url: string, owner = ''): PaceTicket | undefined {
    if (!this.#methods.has(method) && !this.#methods.has('*')) return undefined
    const path = serverView(pathOf(url))?.toLowerCase()
    const lane = path === undefined ? undefined : this.#lanes.find((l) => l.match(method, path))
    if (lane === undefined) return undefined
    const now = this.#now()
    const ticket = new PaceTicket(lane, now, owner)
    const { maxConcurrent, minIntervalMs } = lane.rule
    if (lane.queue.length === 0 && lane.active < maxConcurrent && now >= lane.lastStart + minIntervalMs) {
      this.#start(lane, ticket, now)
      return ticket
    }
    if (lane.queue.length >= this.#o.maxQueued) throw this.#busy(lane, 1)
    const earliest = lane.lastStart + minIntervalMs * (lane.queue.length + 1)
    if (earliest - now > this.#o.maxWaitMs) throw this.#busy(lane, (earliest - now) / 1000)
    ticket.waiting = new Waiting(this.#clock, this.#o.maxWaitMs, () => {
      removeFrom(lane.queue, ticket)
      ticket.state = 'done'
      const at = this.#now()
      this.#o.onWait?.({ profile: this.#o.profile, rule: lane.rule.route, waitedMs: at - ticket.since, outcome: 'too_busy' })
      return this.#busy(lane, (lane.lastStart + minIntervalMs - at) / 1000)
    })
    lane.queue.push(ticket)
    this.#pump(lane)
    return ticket
  }

  /** The request is sent upstream now: the interval counts from here (a token or a gate wait came in between). */
  sent (ticket: PaceTicket): void {
    if (ticket.state !== 'running') return
    ticket.sentUpstream = true
    ticket.lane.lastStart = Math.max(ticket.lane.lastStart, this.#now())
  }

  /** Its answer is over or its caller is gone: a running request frees its place, a queued one leaves the queue. */
  leave (ticket: PaceTicket): void {
    const lane = ticket.lane
    if (ticket.state === 'waiting') {
      removeFrom(lane.queue, ticket)
      ticket.state = 'done'
      this.#o.onWait?.({ profile: this.#o.profile, rule: lane.rule.route, waitedMs: this.#now() - ticket.since, outcome: 'left' })
      ticket.waiting?.pass()
    } else if (ticket.state === 'running') {
      ticket.state = 'done'
      lane.active--
      count(lane.held, ticket.owner, -1)
      // Refused before it was sent (too busy, no token, no host): nothing reached CXone, so the interval it started
      // is given back, unless another request has started since.
      if (!ticket.sentUpstream && lane.lastStart === ticket.startedAt) lane.lastStart = ticket.previousStart
    } else {
      return
    }
    this.#pump(lane)
  }

  /** Starts queued requests while the lane allows; else wakes when its interval will have passed. */
  #pump (lane: Lane): void {
    if (lane.timer !== undefined) this.#clock.clearTimeout(lane.timer)
    lane.timer = undefined
    while (lane.queue.length > 0 && lane.active < lane.rule.maxConcurrent) {
      const now = this.#now()
      const due = lane.lastStart + lane.rule.minIntervalMs
      if (now < due) {
        lane.timer = this.#clock.setTimeout(() => { this.#pump(lane) }, Math.ceil(due - now))
        return
      }
      const next = fairest(lane)
      removeFrom(lane.queue, next)
      this.#start(lane, next, now)
      this.#o.onWait?.({ profile: this.#o.profile, rule: lane.rule.route, waitedMs: now - next.since, outcome: 'started' })
      next.waiting?.pass()
    }
  }

  #start (lane: Lane, ticket: PaceTicket, now: number): void {
    ticket.state = 'running'
    lane.active++
    count(lane.held, ticket.owner, 1)
    lane.served.set(ticket.owner, now)
    ticket.previousStart = lane.lastStart
    ticket.startedAt = now
    lane.lastStart = now
  }

  #busy (lane: Lane, retryAfterSec: number): ProxyError {
    const { route, maxConcurrent, minIntervalMs } = lane.rule
    return new ProxyError('too_busy', `${route} is paced (the config file's "pace": ${maxConcurrent} at a time, ${minIntervalMs} ms apart) with ${lane.active} running and ${lane.queue.length} queued; this request could not start within PROXY_PACE_MAX_WAIT_MS=${this.#o.maxWaitMs}: retry after Retry-After`, { retryAfterSec: Math.max(1, Math.ceil(retryAfterSec)) })
  }
}


/** The oldest waiter of the owner holding the fewest places, then served least recently (the queue is not empty). */
function fairest (lane: Lane): PaceTicket {
  let best = lane.queue[0] as PaceTicket
  let fewest = Infinity
  let longAgo = Infinity
  for (const t of lane.queue) {
    const held = lane.held.get(t.owner) ?? 0
    const served = lane.served.get(t.owner) ?? -Infinity
    if (held < fewest || (held === fewest && served < longAgo)) {
      best = t
      fewest = held
      longAgo = served
    }
  }
  return best
}

function count (held: Map<string, number>, owner: string, by: number): void {
  const n = (held.get(owner) ?? 0) + by
  if (n <= 0) held.delete(owner)
  else held.set(owner, n)
}
