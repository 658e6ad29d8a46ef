import type { Logger } from 'pino'
import type { AnsweredRequest } from '../core/answered-request.js'
import type { TokenProvider } from '../token/token-provider.js'
import { Metrics, routeClass } from './metrics.js'
import { requestLineWriter } from './request-line.js'

/** CXone answered 429 with Retry-After: the proxy answers the family's calls itself until then. */
export interface ShieldArmedEvent {
  profile: string
  upstream: string
  family: string
  retryAfterSec: number
  capped: boolean
}

/** A request of a paced route waited in its queue. */
export interface PaceWaitEvent {
  profile: string
  rule: string
  waitedMs: number
  outcome: string
}

export interface Observability {
  readonly metrics: Metrics
  /** The one line per request (info; debug for /_proxy/ probes answered), and its metrics; `r`'s durations are rounded in place. */
  requestDone: (r: AnsweredRequest) => void
  /** One warn line per arming, and its counter. */
  shieldArmed: (e: ShieldArmedEvent) => void
  /** One info line per wait, and its histogram. */
  paceWaited: (e: PaceWaitEvent) => void
}

const round1 = (n: number): number => Math.round(n * 10) / 10

export function createObservability (logger: Logger, profiles: () => ReadonlyArray<{ name: string, provider: TokenProvider }>, now: () => number): Observability {
  const metrics = new Metrics(profiles, now)
  const writeLine = requestLineWriter(logger)
  return {
    metrics,
    requestDone: (r) => {
      const cls = routeClass(r.path)
      metrics.request(r.method, cls, r.status, r.upstreamMs, r.upstream, r.profile)
      // Probes answered (health, readiness, metrics every few seconds) are debug; refused or unknown ones are info.
      if (cls !== 'admin') metrics.activity.request(r.status)
      const probe = cls === 'admin' && (r.status < 400 || r.status === 503)
      // The request line's fields are the answered request's own, its durations rounded: no copy per request.
      r.ms = round1(r.ms)
      if (r.upstreamMs !== undefined) r.upstreamMs = round1(r.upstreamMs)
      writeLine(probe ? 'debug' : 'info', r)
    },
    shieldArmed: (e) => {
      metrics.shieldArmed(e.profile, e.upstream)
      logger.warn({ profile: e.profile, upstream: e.upstream, family: e.family, retryAfterSec: round1(e.retryAfterSec), capped: e.capped },
        `CXone answered 429 with Retry-After for ${e.family}: the proxy answers its calls itself for ${Math.ceil(e.retryAfterSec)} s${e.capped ? ' (Retry-After capped at 10 minutes)' : ''}, then lets one through first`)
    },
    paceWaited: (e) => {
      metrics.paceWait(e.profile, e.rule, e.outcome, e.waitedMs / 1000)
      logger.info({ profile: e.profile, rule: e.rule, waitedMs: round1(e.waitedMs), outcome: e.outcome }, 'paced')
    }
  }
}
