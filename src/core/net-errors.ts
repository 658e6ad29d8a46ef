/**
 * The one classifier of network and TLS failures, used by the token layer, the forwarding path and `check`.
 * undici and fetch hide the useful code in `cause` (fetch) or wrap it (our own errors): the whole chain is
 * walked, and the innermost code wins.
 */

export type NetworkKind = 'timeout' | 'connect_timeout' | 'dns' | 'refused' | 'tls' | 'reset' | 'other'

export interface NetworkFailure {
  kind: NetworkKind
  /** The innermost error code (ECONNREFUSED, UND_ERR_…, a TLS code), for logs and messages. */
  code: string | undefined
}

const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|SSL|HOSTNAME_MISMATCH|ALTNAME/
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])
const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_CLOSED'])
const MAX_DEPTH = 6
/** A keep-alive socket the server had already closed: a safe request on it may be sent once more. */
const STALE_SOCKET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET'])
/** undici's own failures and zlib's: a response that broke off or could not be decoded. */
const BROKEN_RESPONSE_CODE = /^(UND_ERR_|Z_|ERR_STREAM_PREMATURE)/

interface ErrorLike { code?: unknown, name?: unknown, message?: unknown, cause?: unknown }

/** An error and its causes, outermost first. */
export function * errorChain (err: unknown): Generator<ErrorLike> {
  let e: unknown = err
  for (let depth = 0; e !== undefined && e !== null && depth < MAX_DEPTH; depth++) {
    yield e as ErrorLike
    e = (e as ErrorLike).cause
  }
}

/** The innermost error code in the chain (ECONNREFUSED, UND_ERR_…), or undefined. */
export function innermostCode (err: unknown): string | undefined {
  let code: string | undefined
  for (const e of errorChain(err)) if (typeof e.code === 'string') code = e.code
  return code
}

export function classifyNetworkError (err: unknown): NetworkFailure {
  const code = innermostCode(err)
  for (const e of errorChain(err)) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return { kind: 'timeout', code }
  }
  const c = code ?? ''
  if (c === 'ECONNREFUSED') return { kind: 'refused', code }
  if (c === 'ENOTFOUND' || c === 'EAI_AGAIN') return { kind: 'dns', code }
  if (c === 'UND_ERR_CONNECT_TIMEOUT') return { kind: 'connect_timeout', code }
  if (TIMEOUT_CODES.has(c)) return { kind: 'timeout', code }
  if (TLS_CODE.test(c)) return { kind: 'tls', code }
  if (RESET_CODES.has(c)) return { kind: 'reset', code }
  return { kind: 'other', code }
}

/** The request met a socket the server had closed (the error's own code, not a cause's). */
export function isStaleSocket (err: unknown): boolean {
  const code = (err as ErrorLike | null)?.code
  return typeof code === 'string' && STALE_SOCKET_CODES.has(code)
}

/** A network failure, or an undici or zlib error: the response broke off or could not be decoded. */
export function isBrokenResponse (err: unknown): boolean {
  const code = (err as ErrorLike | null)?.code
  return classifyNetworkError(err).kind !== 'other' || (typeof code === 'string' && BROKEN_RESPONSE_CODE.test(code))
}

/** A readable reason for a network failure, naming the fix where there is one. */
export function describeNetworkError (err: unknown, timeoutMs?: number): string {
  const { kind, code } = classifyNetworkError(err)
  switch (kind) {
    case 'timeout': return `no answer within ${timeoutMs ?? '?'} ms`
    case 'connect_timeout': return `connecting timed out (${code ?? 'timeout'})`
    case 'dns': return `DNS lookup failed (${code ?? 'ENOTFOUND'}): check the host name and region`
    case 'refused': return 'connection refused (ECONNREFUSED)'
    case 'tls': return `TLS certificate not trusted (${code ?? 'TLS'}): add your CA with NODE_EXTRA_CA_CERTS`
    case 'reset': return `the connection was closed (${code ?? 'ECONNRESET'})`
    case 'other': {
      let message: string | undefined
      for (const e of errorChain(err)) if (typeof e.message === 'string' && e.message !== '') message = e.message
      return code !== undefined ? `${code}: ${message ?? ''}`.trim() : message ?? String(err)
    }
  }
}
