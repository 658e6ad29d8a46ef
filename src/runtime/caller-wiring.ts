/**
 * issue 22's named callers, where they meet the rest of a profile: the request line's `caller`, its row and metric,
 * the shadow-mode line, and the local token endpoint's caller identification (issue 23).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { CallerIndex } from '../core/caller-policy.js'
import type { ProxyError } from '../core/errors.js'
import { UNIDENTIFIED, type CallerActivity } from '../ops/caller-activity.js'
import type { Identify } from '../proxy/local-grants.js'
import type { ListenerOptions } from '../proxy/listener.js'

type Answered = Parameters<ListenerOptions['requestDone']>[0]

export interface CallerHooks {
  /** Names the caller on the request line (for a profile with callers) and counts the request in its row. */
  readonly requestDone: (r: Answered) => Answered
  /** Shadow mode: one warn line, and the caller's count of what would have been refused. */
  readonly wouldRefuse: (request: FastifyRequest, err: ProxyError) => void
}

export function callerHooks (log: Logger, hasCallers: () => boolean, rows: CallerActivity, countShadow: (caller: string) => void): CallerHooks {
  return {
    requestDone: (r) => {
      if (!hasCallers()) return r
      const caller = r.caller ?? UNIDENTIFIED
      if (!r.path.startsWith('/_proxy/')) rows.request(caller, { status: r.status, upstreamCall: r.upstreamMs !== undefined, quota: r.quota }, r.refusal)
      return { ...r, caller }
    },
    wouldRefuse: (request, err) => {
      const caller = request.callerPolicy?.caller.name ?? UNIDENTIFIED
      rows.shadowRefusal(caller)
      countShadow(caller)
      log.warn({ reqId: request.id, caller, code: err.code }, `shadow mode: would refuse (${err.code}): ${err.message}`)
    }
  }
}

function digest (s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/**
 * issue 23 → 22: the local token endpoint's client (the access key id, or client id) is a caller's name, its secret
 * one of that caller's keys; compared in constant time, every key of the caller compared.
 */
export function identifyCallers (index: () => CallerIndex | undefined): Identify {
  return (name, secret) => {
    const caller = index()?.set.byName.get(name)
    if (caller === undefined) return undefined
    const d = digest(secret)
    let ok = false
    for (const key of caller.keys) ok = timingSafeEqual(d, digest(key)) || ok
    return ok ? caller.name : undefined
  }
}
