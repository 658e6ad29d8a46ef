import { recognise, type Arrival, type CallerIndex, type CallerPolicy } from '../core/caller-policy.js'
import type { ProxyError } from '../core/errors.js'
import type { Admitted, AdmissionRules, RequestHead } from './admission.js'

/** How the connection came (named callers), and who to tell of the caller recognised before a later step refuses it. */
export interface Connection extends Omit<Arrival, 'key'> {
  readonly recognised?: (policy: CallerPolicy) => void
}

/**
 * Admission step 5 with named callers (issue 22): the caller a key, socket or loopback names (caller-policy.ts). Health and readiness stay open,
 * and the local token endpoint identifies its caller by name and key itself (local-grants.ts). A placeholder bearer
 * stands for a key: its caller is taken from it after step 5b.
 */
export function whichCaller (head: RequestHead, open: boolean, rules: AdmissionRules, index: CallerIndex, arrival: Connection | undefined): Named {
  if (open) return {}
  const r = recognise(index, { key: head.headers['x-proxy-key'], socketPath: arrival?.socketPath, loopback: arrival?.loopback ?? false })
  if (r.ok) return { policy: r.policy }
  if (!r.enforce) return { wouldRefuse: r.error }
  // A bearer may be a placeholder naming the caller: judged at step 5b, refused after it if it is not.
  if (rules.placeholders === undefined || head.headers.authorization === undefined) throw r.error
  return { refused: r.error }
}

export interface Named extends Pick<Admitted, 'policy' | 'wouldRefuse'> {
  readonly refused?: ProxyError | undefined
}
