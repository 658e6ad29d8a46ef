import { ProxyError } from '../core/errors.js'

const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i
const ENCODED_SLASH = /%(?:2f|5c)/i
const BAD_PERCENT = /%(?![0-9a-f]{2})/i

/**
 * Checks a request target before anything is forwarded. Only origin-form (`/path?query`) passes;
 * dot segments (raw or percent-encoded), encoded slashes, backslashes and broken percent-escapes are
 * refused, so a target can never climb out of the API's path space or be read two ways.
 */
export function checkTarget (rawUrl: string): void {
  if (rawUrl.charCodeAt(0) !== 47 /* / */ || rawUrl.charCodeAt(1) === 47) {
    throw new ProxyError('bad_request', 'the request target must be a path starting with a single "/" (absolute-form and "//" targets are refused)')
  }
  const q = rawUrl.indexOf('?')
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q)
  if (path.includes('\\') || ENCODED_SLASH.test(path)) {
    throw new ProxyError('bad_request', 'the path contains a backslash or an encoded slash (%2F, %5C): send plain "/" separators')
  }
  if (BAD_PERCENT.test(rawUrl)) {
    throw new ProxyError('bad_request', 'the request target has a malformed percent-escape: encode "%" as %25')
  }
  if (path.includes('.') || /%2e/i.test(path)) {
    for (const segment of path.split('/')) {
      if (DOT_SEGMENT.test(segment)) {
        throw new ProxyError('bad_request', 'the path contains a "." or ".." segment (raw or percent-encoded): send the resolved path')
      }
    }
  }
}

/** The path without the query, for logs and route matching. */
export function pathOf (rawUrl: string): string {
  const q = rawUrl.indexOf('?')
  return q < 0 ? rawUrl : rawUrl.slice(0, q)
}

/** The raw query (without `?`), passed upstream byte for byte. */
export function queryOf (rawUrl: string): string {
  const q = rawUrl.indexOf('?')
  return q < 0 ? '' : rawUrl.slice(q + 1)
}
