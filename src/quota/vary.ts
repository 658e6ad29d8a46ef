/**
 * What a shared answer may be reused for (RFC 9111 §4.1): the request headers its `Vary` names must match those of
 * the request it answered; `Vary: *` matches nothing. And what only the caller whose request was sent may get:
 * `Set-Cookie` (issue 24 #4, #5).
 */
import type { IncomingHttpHeaders } from 'node:http'

type Headers = Record<string, string | string[] | undefined>

/** The header names an answer's Vary lists (lower case), or '*'. */
export function varyOf (headers: Headers): readonly string[] | '*' {
  const raw = headers.vary
  if (raw === undefined) return []
  const names = (Array.isArray(raw) ? raw.join(',') : raw).split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '')
  return names.includes('*') ? '*' : names
}

/** The values of the named request headers, as one string to compare (absent is a value of its own). */
export function varyValues (names: readonly string[], request: IncomingHttpHeaders): string {
  return names.map((n) => {
    const v = request[n]
    return v === undefined ? '\u0000' : (Array.isArray(v) ? v.join(', ') : v).trim()
  }).join('\n')
}

/** True when a request may be given an answer to `original`: every header the answer's Vary names matches. */
export function varyMatches (vary: readonly string[] | '*', original: IncomingHttpHeaders, request: IncomingHttpHeaders): boolean {
  if (vary === '*') return false
  return vary.length === 0 || varyValues(vary, original) === varyValues(vary, request)
}

/** An answer's headers without Set-Cookie: what the other callers of a flight get (the cookie was the sender's). */
export function withoutSetCookie<T extends { readonly headers: Headers }> (response: T): T {
  if (response.headers['set-cookie'] === undefined) return response
  const { 'set-cookie': _cookie, ...headers } = response.headers
  return { ...response, headers }
}

/** A stream of events is never shared: each caller gets its own, as the events come. */
export function isEventStream (contentType: string | string[] | undefined): boolean {
  const v = Array.isArray(contentType) ? contentType.join(',') : contentType ?? ''
  return /^\s*text\/event-stream\b/i.test(v)
}
