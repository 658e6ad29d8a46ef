/**
 * Who called what (issue 22): one row per named caller of a profile, for the status page and status.json, and the
 * `caller` label of cxone_proxy_caller_requests_total. Bounded: the rows and label values are the configured callers'
 * names, plus UNIDENTIFIED for a call no caller was recognised in. No key, secret or token is kept here.
 */

/** The row and label of a call no caller was recognised in: `_` is not allowed in a caller's name, so it names none. */
export const UNIDENTIFIED = '_unidentified'

/** How one request to a profile with callers ended, as the metric's `outcome` label counts it. */
export type CallerOutcome = 'upstream' | 'cache' | 'coalesced' | 'refused' | 'rate_limited' | 'other'

export interface CallerRow {
  caller: string
  requests: number
  /** Requests that made a call to CXone. */
  upstreamCalls: number
  /** Requests answered without a call of their own (micro-cache hits, coalesced followers). */
  spared: number
  /** Refused by the proxy (caller_forbidden, proxy_auth_required, forbidden_route, …), caller_rate_limited included. */
  refusals: number
  /** Of the refusals, those of its share (caller_rate_limited). */
  rateLimited: number
  /** What shadow mode would have refused and let through. */
  shadowRefusals: number
  /** 429s CXone answered to this caller's own calls. */
  cxone429: number
  /** Epoch milliseconds of its last request; null before its first. */
  lastSeen: number | null
}

/** Counts in place, one Map lookup per request (metrics.ts's bound children). */
export type CountOutcome = (caller: string, outcome: CallerOutcome) => void

/** What a request brings to its caller's row: the status answered, a call of its own, how it was spared. */
export interface CallerRequest {
  readonly status: number
  readonly upstreamCall: boolean
  readonly quota: string | undefined
}

export class CallerActivity {
  readonly #now: () => number
  readonly #rows = new Map<string, CallerRow>()
  readonly #count: CountOutcome | undefined

  constructor (now: () => number, count?: CountOutcome) {
    this.#now = now
    this.#count = count
  }

  /** The configured callers (a reload may change them): a row each, kept with its counts if it stays. */
  configure (names: readonly string[]): void {
    const keep = new Set([...names, UNIDENTIFIED])
    for (const name of this.#rows.keys()) if (!keep.has(name)) this.#rows.delete(name)
    for (const name of keep) this.#row(name)
  }

  /** One answered request; `refusal` is the error code the proxy answered it with, if it did. */
  request (caller: string | undefined, r: CallerRequest, refusal: string | undefined): void {
    const row = this.#row(caller ?? UNIDENTIFIED)
    row.requests++
    row.lastSeen = this.#now()
    let outcome: CallerOutcome = 'other'
    if (r.quota === 'cache' || r.quota === 'coalesced') {
      row.spared++
      outcome = r.quota
    } else if (r.upstreamCall) {
      row.upstreamCalls++
      if (r.status === 429) row.cxone429++
      outcome = 'upstream'
    } else if (refusal === 'caller_rate_limited') {
      row.refusals++
      row.rateLimited++
      outcome = 'rate_limited'
    } else if (refusal !== undefined && refusal !== 'rate_limited') {
      row.refusals++
      outcome = 'refused'
    }
    this.#count?.(row.caller, outcome)
  }

  shadowRefusal (caller: string | undefined): void {
    this.#row(caller ?? UNIDENTIFIED).shadowRefusals++
  }

  rows (): CallerRow[] {
    return [...this.#rows.values()].map((r) => ({ ...r }))
  }

  #row (name: string): CallerRow {
    let row = this.#rows.get(name)
    if (row === undefined) {
      row = { caller: name, requests: 0, upstreamCalls: 0, spared: 0, refusals: 0, rateLimited: 0, shadowRefusals: 0, cxone429: 0, lastSeen: null }
      this.#rows.set(name, row)
    }
    return row
  }
}
