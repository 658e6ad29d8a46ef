/**
 * What the status page shows of the traffic: requests per minute by status, proxy errors per minute by code,
 * and the last proxy errors with their request ids. Bounded: WINDOW_MINUTES buckets and MAX_ERRORS entries.
 */

export const WINDOW_MINUTES = 15
export const MAX_ERRORS = 50
const MINUTE_MS = 60_000
const MAX_PATH_CHARS = 200
const MAX_MESSAGE_CHARS = 500

export interface MinuteCounts {
  /** The minute's start, epoch milliseconds. */
  start: number
  /** Requests answered (the proxy's own /_proxy/ endpoints are not counted). */
  requests: number
  /** Requests by the HTTP status answered, e.g. {"200": 12, "502": 1}. */
  statuses: Record<string, number>
  /** Errors the proxy answered itself, by error code, e.g. {"destination_unavailable": 1}. */
  errors: Record<string, number>
}

/** A minute's calls to CXone beside those the quota features spared (issue 25). */
export interface MinuteQuota {
  start: number
  /** Requests that made a call to CXone. */
  upstreamCalls: number
  /** Requests answered without a call of their own: {"coalesced": 3, "cache": 40, "shielded": 1}. */
  spared: Record<string, number>
}

type Bucket = MinuteCounts & Omit<MinuteQuota, 'start'>

/** How a request was answered: with a call of its own to CXone, or spared one (the quota features). */
export interface RequestWay {
  upstreamCall: boolean
  /** coalesced, cache or shielded. */
  quota?: string | undefined
}

export interface ErrorEntry {
  at: number
  reqId: string
  method: string
  path: string
  status: number
  code: string
  message: string
}

export interface ActivitySnapshot {
  windowMinutes: number
  /** Oldest first; a minute without traffic is present with zeros. */
  minutes: MinuteCounts[]
  /** The same minutes' calls to CXone and spared calls. */
  quota: MinuteQuota[]
  /** Newest first. */
  recentErrors: ErrorEntry[]
}

export class Activity {
  readonly #now: () => number
  /** Ring of buckets indexed by minute number modulo the window. */
  readonly #buckets: Array<Bucket | undefined> = new Array(WINDOW_MINUTES)
  readonly #errors: ErrorEntry[] = []

  constructor (now: () => number = Date.now) {
    this.#now = now
  }

  /** One answered request (called where the request log line is written). */
  request (status: number, way?: RequestWay): void {
    const b = this.#bucket()
    b.requests += 1
    b.statuses[status] = (b.statuses[status] ?? 0) + 1
    if (way?.quota !== undefined) b.spared[way.quota] = (b.spared[way.quota] ?? 0) + 1
    else if (way?.upstreamCall === true) b.upstreamCalls += 1
  }

  /** One error the proxy answered (called where error bodies are sent). */
  error (e: Omit<ErrorEntry, 'at'>): void {
    const b = this.#bucket()
    b.errors[e.code] = (b.errors[e.code] ?? 0) + 1
    this.#errors.unshift({
      at: this.#now(),
      reqId: e.reqId,
      method: e.method,
      path: e.path.slice(0, MAX_PATH_CHARS),
      status: e.status,
      code: e.code,
      message: e.message.slice(0, MAX_MESSAGE_CHARS)
    })
    if (this.#errors.length > MAX_ERRORS) this.#errors.length = MAX_ERRORS
  }

  snapshot (): ActivitySnapshot {
    const current = Math.floor(this.#now() / MINUTE_MS)
    const minutes: MinuteCounts[] = []
    const quota: MinuteQuota[] = []
    for (let m = current - WINDOW_MINUTES + 1; m <= current; m++) {
      const stored = this.#buckets[m % WINDOW_MINUTES]
      const b = stored !== undefined && stored.start === m * MINUTE_MS ? stored : undefined
      minutes.push({ start: m * MINUTE_MS, requests: b?.requests ?? 0, statuses: { ...b?.statuses }, errors: { ...b?.errors } })
      quota.push({ start: m * MINUTE_MS, upstreamCalls: b?.upstreamCalls ?? 0, spared: { ...b?.spared } })
    }
    return { windowMinutes: WINDOW_MINUTES, minutes, quota, recentErrors: this.#errors.map((e) => ({ ...e })) }
  }

  #bucket (): Bucket {
    const minute = Math.floor(this.#now() / MINUTE_MS)
    const i = minute % WINDOW_MINUTES
    let b = this.#buckets[i]
    if (b === undefined || b.start !== minute * MINUTE_MS) {
      b = { start: minute * MINUTE_MS, requests: 0, statuses: {}, errors: {}, upstreamCalls: 0, spared: {} }
      this.#buckets[i] = b
    }
    return b
  }
}
