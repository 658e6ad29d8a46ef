/**
 * What a listener reports about each answered request, for the request line, the metrics and the status page:
 * never a raw token, never a header. One shape for the proxy's listeners (src/proxy) and what reads it (src/ops).
 */
export interface AnsweredRequest {
  reqId: string
  method: string
  /** The path without its query. */
  path: string
  status: number
  ms: number
  upstreamMs: number | undefined
  /** The token's fingerprint, when one was attached. */
  token: string | undefined
  /** The business unit (profile) whose listener answered. */
  profile?: string | undefined
  /** The named upstream the request was routed to. */
  upstream?: string | undefined
  /** How the quota was spared: coalesced, cache or shielded. */
  quota?: string | undefined
  /** issue 22: the named caller (or _unidentified), for a profile with callers. */
  caller?: string | undefined
  /** The error code the proxy answered with, if it refused the request itself. */
  refusal?: string | undefined
}
