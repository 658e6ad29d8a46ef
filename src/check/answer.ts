import { describeNetworkError } from '../core/net-errors.js'
import type { Observation } from './http.js'
import type { AttemptOutcome } from './report.js'

/** Reading answers: OAuth error fields, what kind of body came back, a short printable excerpt. Pure. */

export interface OAuthFields {
  error: string | undefined
  description: string | undefined
}

/** `error` with `error_description` or `errorDescription` (CXone's exact wire format is unconfirmed: accept both). */
export function oauthFields (text: string): OAuthFields {
  const json = parseObject(text)
  if (json === undefined) return { error: undefined, description: undefined }
  const error = typeof json.error === 'string' ? json.error : undefined
  const description = [json.error_description, json.errorDescription, json.message].find((d) => typeof d === 'string') as string | undefined
  return { error, description }
}

/** What a token endpoint answers on refusal: RFC 6749 §5.2's codes, and RFC 8707's invalid_target. */
const TOKEN_ERRORS = new Set(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'invalid_target', 'access_denied'])

/**
 * The OAuth error of a token endpoint's answer, judged by status and shape before the body is believed: a 404
 * `not_found` or an API's 401 `invalid_token` (RFC 6750) has an `error` field too, but is no token endpoint's refusal.
 */
export function tokenEndpointError (obs: Observation): OAuthFields | undefined {
  if (obs.kind !== 'answer' || (obs.status !== 400 && obs.status !== 401 && obs.status !== 403)) return undefined
  const fields = oauthFields(obs.text)
  return fields.error !== undefined && TOKEN_ERRORS.has(fields.error) ? fields : undefined
}

/** Paths people put in CXONE_TOKEN_URL that are never CXone's token endpoint, with why. */
export function wrongTokenPath (url: string): string | undefined {
  const path = new URL(url).pathname
  if (/\/oauth2?\/token\/?$/i.test(path)) return `CXone's token path is /auth/token; ${path} is no CXone path (whatever forum posts say)`
  if (/\/(incontactapi|dfo|engager|business-data-manager|user-management|data-extraction)\//i.test(path)) return `${path} is an API path, not the token endpoint (CXone's token path is /auth/token)`
  return undefined
}

export function parseObject (text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

export type BodyKind = 'empty' | 'html' | 'json' | 'other'

export function bodyKind (contentType: string, text: string): BodyKind {
  if (text.trim() === '') return 'empty'
  if (/html/i.test(contentType) || /^\s*</.test(text)) return 'html'
  return parseObject(text) !== undefined ? 'json' : 'other'
}

const EXCERPT_CHARS = 120

/** The visible text of a non-JSON body, short: enough to recognise a login page or a proxy's error. */
export function excerpt (text: string): string {
  const visible = text.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim()
  return visible.length > EXCERPT_CHARS ? `${visible.slice(0, EXCERPT_CHARS)}…` : visible
}

/** One line for an answer: `401 invalid_client (Bad client credentials)`, `200 an HTML page`, `network: DNS lookup failed`. */
export function answerLine (obs: Observation, timeoutMs: number): string {
  if (obs.kind === 'network') return `no answer: ${describeNetworkError(obs.error, timeoutMs)}`
  const { error, description } = oauthFields(obs.text)
  if (error !== undefined) return `${obs.status} ${error}${description !== undefined ? ` (${description})` : ''}`
  if (attemptOutcome(obs) === 'accepted') return `${obs.status} token issued`
  const kind = bodyKind(obs.contentType, obs.text)
  const shape = kind === 'empty' ? 'an empty body' : kind === 'html' ? 'an HTML page' : kind === 'json' ? 'JSON' : `a ${obs.contentType === '' ? 'non-JSON' : obs.contentType.split(';')[0]} body`
  return `${obs.status} ${shape}`
}

const CLIENT_ERRORS = new Set(['invalid_client', 'invalid_request'])

/** Whether a token answer says the client authentication was accepted. invalid_request is ambiguous (a method mismatch can cause it). */
export function attemptOutcome (obs: Observation): AttemptOutcome {
  if (obs.kind === 'network') return 'unclear'
  const { error } = oauthFields(obs.text)
  if (obs.status >= 200 && obs.status < 300) {
    const body = parseObject(obs.text)
    return typeof body?.access_token === 'string' && body.access_token !== '' ? 'accepted' : 'unclear'
  }
  if (obs.status === 429 || obs.status >= 500 || error === undefined) return 'unclear'
  const refusal = tokenEndpointError(obs)
  if (refusal?.error === undefined) return 'unclear'
  return CLIENT_ERRORS.has(refusal.error) ? 'client_rejected' : 'client_accepted'
}
