import type { IncomingHttpHeaders } from 'node:http'
import { recognise, type Arrival, type CallerIndex, type CallerPolicy } from '../core/caller-policy.js'
import type { ProxyError } from '../core/errors.js'

/** How the connection came (named callers), and who to tell of the caller recognised before a later step refuses it. */
export interface Connection extends Omit<Arrival, 'key'> {
  readonly recognised?: (policy: CallerPolicy) => void
}

/** The caller recognised; or, in shadow mode, the refusal not made; or a refusal to make after the placeholder step. */
export interface Named {
  readonly policy?: CallerPolicy | undefined
  readonly wouldRefuse?: ProxyError | undefined
  readonly refused?: ProxyError | undefined
}

/**
 * Admission step 5 with named callers (issue 22): the caller a key, socket or loopback names (caller-policy.ts).
 * Health and readiness stay open (`open`), and the local token endpoint identifies its caller by name and key itself
 * (local-grants.ts). With placeholders on, a bearer stands for a key: its caller is taken from it after step 5b.
 */
export function whichCaller (headers: IncomingHttpHeaders, open: boolean, placeholders: boolean, index: CallerIndex, arrival: Connection | undefined): Named {
  if (open) return {}
  const r = recognise(index, { key: headers['x-proxy-key'], socketPath: arrival?.socketPath, loopback: arrival?.loopback ?? false })
  if (r.ok) return { policy: r.policy }
  if (!r.enforce) return { wouldRefuse: r.error }
  if (!placeholders || headers.authorization === undefined) throw r.error
  return { refused: r.error }
}
