/**
 * OAuth client authentication (RFC 6749 §2.3.1): HTTP Basic or credentials in the form body.
 */

import type { BasicEncoding } from '../core/settings.js'

/**
 * application/x-www-form-urlencoded encoding of one value (RFC 6749 Appendix B):
 * ` %&+£€` becomes `+%25%26%2B%C2%A3%E2%82%AC`.
 */
export function formEncode (value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1)
}

/**
 * The Authorization header value for client_secret_basic. RFC 6749 §2.3.1: id and secret are each
 * form-encoded before base64 (`rfc6749`); `raw` is plain base64(id:secret) for servers that do not decode.
 */
export function basicAuthorization (clientId: string, clientSecret: string, encoding: BasicEncoding): string {
  const id = encoding === 'rfc6749' ? formEncode(clientId) : clientId
  const secret = encoding === 'rfc6749' ? formEncode(clientSecret) : clientSecret
  return `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`
}

/** True when the two Basic encodings produce different bytes for this id and secret. */
export function basicEncodingsDiffer (clientId: string, clientSecret: string): boolean {
  return formEncode(clientId) !== clientId || formEncode(clientSecret) !== clientSecret
}
