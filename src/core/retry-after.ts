/**
 * The one Retry-After parser (RFC 9110 §10.2.3), for CXone's 429s and the token endpoint's answers alike. `now` is
 * the caller's clock's wall time: nothing here reads the system clock.
 */

/**
 * Retry-After as seconds from `now`: delay-seconds or an HTTP date. Undefined when absent, malformed, zero or
 * past. The first value counts when the header is repeated.
 */
export function retryAfterSeconds (value: string | readonly string[] | null | undefined, now: number): number | undefined {
  const raw = (typeof value === 'string' ? value : value?.[0])?.trim()
  if (raw === undefined || raw === '') return undefined
  if (/^\d+$/.test(raw)) return Number(raw) > 0 ? Number(raw) : undefined
  if (!/[a-z]/i.test(raw)) return undefined
  const at = Date.parse(raw)
  if (Number.isNaN(at) || at <= now) return undefined
  return (at - now) / 1000
}
