/**
 * The table of every error the proxy answers with. A caller sees
 * `{"error":{"code","message"}}` plus `Proxy-Status` (RFC 9209), so scripts can branch on `code`.
 */

export interface ErrorSpec {
  readonly status: number
  /** RFC 9209 §2.3 proxy error type carried in Proxy-Status. */
  readonly proxyStatus: string
  /**
   * Who logs it when a request is answered with it: `error` and `warn` are logged by the request path at that
   * level; `none` is not (the caller's own mistake, or the token layer already logged it once per kind).
   */
  readonly log: 'error' | 'warn' | 'none'
  /** Counted as a refusal by the proxy (cxone_proxy_rejected_total). */
  readonly rejection: boolean
  /** Retry-After sent when the error itself carries none. */
  readonly retryAfterSec?: number
  /** What the caller (or operator) should do: appended to logs and the README table. */
  readonly remedy: string
}

export const ERRORS = {
  token_rejected: {
    status: 502,
    proxyStatus: 'proxy_configuration_error',
    log: 'none',
    rejection: false,
    remedy: 'the token endpoint rejected the proxy\'s credentials: run `cxone-auth-proxy check` to see which part is wrong'
  },
  token_invalid_response: {
    status: 502,
    proxyStatus: 'http_protocol_error',
    log: 'none',
    rejection: false,
    remedy: 'the token endpoint did not answer with a token: check CXONE_ISSUER / CXONE_TOKEN_URL point at the right region'
  },
  token_unavailable: {
    status: 503,
    proxyStatus: 'destination_unavailable',
    log: 'none',
    rejection: false,
    retryAfterSec: 1,
    remedy: 'no valid token and the token endpoint is unreachable, failing or rate-limiting: retry after Retry-After'
  },
  discovery_failed: {
    status: 502,
    proxyStatus: 'destination_unavailable',
    log: 'none',
    rejection: false,
    remedy: 'the API host could not be discovered: set CXONE_API_URL (for example https://api-na1.niceincontact.com)'
  },
  upstream_not_configured: {
    status: 502,
    proxyStatus: 'proxy_configuration_error',
    log: 'none',
    rejection: false,
    remedy: 'the routing table sends this path to an upstream whose host is not known: set the variable the message names (CXONE_API_URL, CXONE_UI_URL or CXONE_DIGITAL_URL), or fix the "upstreams" entry'
  },
  destination_unavailable: {
    status: 502,
    proxyStatus: 'destination_unavailable',
    log: 'warn',
    rejection: false,
    remedy: 'the CXone API could not be reached: check network access to the API host'
  },
  tls_certificate_error: {
    status: 502,
    proxyStatus: 'tls_certificate_error',
    log: 'warn',
    rejection: false,
    remedy: 'the API host\'s TLS certificate is not trusted: add your CA with NODE_EXTRA_CA_CERTS'
  },
  connection_timeout: {
    status: 504,
    proxyStatus: 'connection_timeout',
    log: 'warn',
    rejection: false,
    remedy: 'the CXone API did not answer in time: retry, or raise PROXY_UPSTREAM_TIMEOUT_MS'
  },
  upstream_invalid_response: {
    status: 502,
    proxyStatus: 'http_protocol_error',
    log: 'warn',
    rejection: false,
    remedy: 'the CXone API sent an answer that broke off or could not be decoded: retry; if it persists, report the request id'
  },
  bad_request: {
    status: 400,
    proxyStatus: 'http_request_error',
    log: 'none',
    rejection: true,
    remedy: 'send a plain path such as /inContactAPI/services/v31.0/skills/activity (no dot segments, no encoded slashes)'
  },
  not_found: {
    status: 404,
    proxyStatus: 'http_request_error',
    log: 'none',
    rejection: true,
    remedy: 'the proxy\'s own endpoints are /_proxy/healthz, /_proxy/readyz and /_proxy/metrics'
  },
  proxy_auth_required: {
    status: 401,
    proxyStatus: 'http_request_denied',
    log: 'none',
    rejection: true,
    remedy: 'send one of the keys in PROXY_API_KEYS as the X-Proxy-Key header'
  },
  // issue 23: answered in CXone's own 401 shape (errorBody), so the client's own refresh-on-401 runs.
  placeholder_rejected: {
    status: 401,
    proxyStatus: 'http_request_denied',
    log: 'none',
    rejection: true,
    remedy: 'the bearer is a placeholder this listener did not issue, or it has expired: ask the proxy\'s /auth/token (or the access-key endpoint) for a new one'
  },
  forbidden_host: {
    status: 403,
    proxyStatus: 'http_request_denied',
    log: 'none',
    rejection: true,
    remedy: 'call the proxy by a loopback name or a name in PROXY_ALLOWED_HOSTS / PROXY_PUBLIC_URL'
  },
  cross_site_request: {
    status: 403,
    proxyStatus: 'http_request_denied',
    log: 'none',
    rejection: true,
    remedy: 'browser pages may call the proxy only from an origin listed in PROXY_CORS_ORIGINS'
  },
  forbidden_caller: {
    status: 403,
    proxyStatus: 'http_request_denied',
    log: 'none',
    rejection: true,
    remedy: 'only a caller on this machine (a loopback address) may stop the proxy: run `cxone-auth-proxy shutdown` next to it'
  },
  forbidden_route: {
    status: 403,
    proxyStatus: 'http_request_denied',
    log: 'none',
    rejection: true,
    remedy: 'this method and path are not allowed by PROXY_READ_ONLY or the config file\'s "routes" allow-list'
  },
  method_not_allowed: {
    status: 405,
    proxyStatus: 'http_request_denied',
    log: 'none',
    rejection: true,
    remedy: 'the proxy forwards plain HTTP requests only; CONNECT and absolute-form targets are refused'
  },
  payload_too_large: {
    status: 413,
    proxyStatus: 'http_request_error',
    log: 'none',
    rejection: true,
    remedy: 'the request body is larger than PROXY_MAX_BODY_BYTES'
  },
  request_header_fields_too_large: {
    status: 431,
    proxyStatus: 'http_request_error',
    log: 'none',
    rejection: true,
    remedy: 'the request headers are larger than the proxy accepts (PROXY_MAX_HEADER_BYTES)'
  },
  expectation_failed: {
    status: 417,
    proxyStatus: 'http_request_error',
    log: 'none',
    rejection: true,
    remedy: 'the proxy understands only "Expect: 100-continue"; drop the Expect header'
  },
  request_timeout: {
    status: 408,
    proxyStatus: 'http_request_error',
    log: 'none',
    rejection: true,
    remedy: 'the request headers did not arrive within PROXY_HEADERS_TIMEOUT_MS'
  },
  too_busy: {
    status: 503,
    proxyStatus: 'connection_limit_reached',
    log: 'warn',
    rejection: true,
    retryAfterSec: 1,
    remedy: 'too many requests are in flight upstream (PROXY_MAX_CONCURRENT_UPSTREAM) or queued for a paced route (PROXY_PACE_MAX_WAIT_MS): retry after Retry-After'
  },
  rate_limited: {
    status: 429,
    // RFC 9209 §2.3.29: the proxy made this answer itself, without connecting to CXone, from CXone's own 429.
    // Not http_request_denied (no policy of the proxy's refused it) nor connection_limit_reached (no limit of its own).
    proxyStatus: 'proxy_internal_response',
    log: 'none',
    rejection: true,
    retryAfterSec: 1,
    remedy: 'CXone answered 429 with Retry-After for this API family: the proxy answers its calls itself until then; retry after Retry-After'
  },
  // Named callers (issue 22): a caller's own policy refused the call. Neither counts against the tenant's quota.
  caller_forbidden: {
    status: 403,
    proxyStatus: 'http_request_denied',
    log: 'none',
    rejection: true,
    remedy: 'this caller\'s policy (its "readOnly", "routes" or "preset" in the config file\'s "callers") does not allow this method and path: the message names the setting that would; `cxone-auth-proxy check --caller <name> --route "GET /path"` explains'
  },
  caller_rate_limited: {
    status: 429,
    // RFC 9209 §2.3.11: the proxy refused it by its own configuration (the caller's share), without calling CXone.
    proxyStatus: 'http_request_denied',
    log: 'none',
    rejection: true,
    retryAfterSec: 1,
    remedy: 'this caller used its share of the quota (its "rate" or "maxConcurrent"): the proxy refused the call without sending it to CXone; retry after Retry-After'
  },
  shutting_down: {
    status: 503,
    proxyStatus: 'http_response_timeout',
    log: 'warn',
    rejection: false,
    retryAfterSec: 1,
    remedy: 'the proxy stopped (grace period over, or a second signal) before the API answered: retry; the call may have reached the API'
  },
  internal_error: {
    status: 500,
    proxyStatus: 'proxy_internal_error',
    log: 'error',
    rejection: false,
    remedy: 'an unexpected error: see the proxy log for the request id'
  }
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS

export interface ProxyErrorOptions {
  cause?: unknown
  /** Seconds a caller should wait before retrying (sent as Retry-After). */
  retryAfterSec?: number
  /** Overrides the table's Proxy-Status type (for example connection_refused). */
  proxyStatus?: string
  /** OAuth `error` value from the token endpoint, when there was one. */
  oauthError?: string
  /** The OAuth `error_description` (or the like) that came with it. */
  oauthDescription?: string
  /** The innermost network or library code of a failure to reach the API (ECONNREFUSED, UND_ERR_…). */
  networkCode?: string | undefined
  /** The status the upstream (CXone's API, or its token endpoint) answered with, when it answered. */
  upstreamStatus?: number | undefined
  /** The field of the upstream's answer at fault (`access_token`, `token_type`, `expires_in`), when one is. */
  answerField?: string
}

/** An error the proxy reports to its caller: a stable code, a message that names the fix. */
export class ProxyError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly proxyStatus: string
  readonly retryAfterSec: number | undefined
  readonly oauthError: string | undefined
  readonly oauthDescription: string | undefined
  readonly networkCode: string | undefined
  readonly upstreamStatus: number | undefined
  readonly answerField: string | undefined

  constructor (code: ErrorCode, message: string, options: ProxyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ProxyError'
    this.code = code
    this.status = ERRORS[code].status
    this.proxyStatus = options.proxyStatus ?? ERRORS[code].proxyStatus
    this.retryAfterSec = options.retryAfterSec
    this.oauthError = options.oauthError
    this.oauthDescription = options.oauthDescription
    this.networkCode = options.networkCode
    this.upstreamStatus = options.upstreamStatus
    this.answerField = options.answerField
  }

  /** The same error with a different Retry-After (the provider's remaining backoff). */
  withRetryAfter (retryAfterSec: number): ProxyError {
    return new ProxyError(this.code, this.message, {
      cause: this.cause,
      retryAfterSec,
      proxyStatus: this.proxyStatus,
      oauthError: this.oauthError,
      oauthDescription: this.oauthDescription,
      networkCode: this.networkCode,
      upstreamStatus: this.upstreamStatus,
      answerField: this.answerField
    })
  }
}

/**
 * The table of configuration mistakes found at start-up (exit 2), with stable codes so `check` and scripts branch
 * on a code, never on a message's words. Each message names the variable, file or field; the remedy is the general fix.
 */
export const CONFIG_ERRORS = {
  config_invalid_value: { remedy: 'give the setting the message names a value of its kind: docs/configuration.md lists each type and range' },
  config_missing_secret: { remedy: 'set the secret the message names, or its NAME_FILE form, in the environment' },
  config_conflicting_secret: { remedy: 'set a secret once: NAME or NAME_FILE, not both' },
  config_unreadable_secret: { remedy: 'make the NAME_FILE the message names readable by the proxy and not empty' },
  config_file_unreadable: { remedy: 'fix the config file\'s path (--config or PROXY_CONFIG), or unset it to use the defaults' },
  config_file_invalid: { remedy: 'make the config file a JSON object of settings, like the committed proxy.config.json' },
  config_unknown_setting: { remedy: 'remove or rename the key the message names: a secret goes in the environment, a process-wide setting at the top level' },
  config_unsafe: { remedy: 'use https:// off loopback, and set inbound keys (PROXY_API_KEYS) before listening off loopback' },
  config_port_conflict: { remedy: 'give the default profile, the admin listener and each profile a port of its own' },
  listen_failed: { remedy: 'choose a free port and an address of this machine (PROXY_PORT, PROXY_HOST, PROXY_ADMIN_PORT, PROXY_ADMIN_HOST)' }
} as const satisfies Record<string, { readonly remedy: string }>

export type ConfigErrorCode = keyof typeof CONFIG_ERRORS

export interface ConfigErrorOptions {
  cause?: unknown
  code?: ConfigErrorCode
  /** The environment variable the mistake is about, when it is one (a secret's NAME). */
  variable?: string
}

/** A user's configuration mistake found at start-up: one line, no stack trace. */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode
  readonly variable: string | undefined
  constructor (message: string, options: ConfigErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ConfigError'
    this.code = options.code ?? 'config_invalid_value'
    this.variable = options.variable
  }
}

export type ErrorBody =
  | { error: { code: ErrorCode, message: string } }
  /** CXone's own shape, for an answer a client's CXone code must read as CXone's (issue 23). */
  | { error: string, error_description: string }

export function errorBody (err: ProxyError): ErrorBody {
  if (err.code === 'placeholder_rejected') return { error: 'invalid_token', error_description: err.message }
  return { error: { code: err.code, message: err.message } }
}

/** RFC 9209 Proxy-Status value: `cxone-auth-proxy; error=<type>; details="<code>"`. */
export function proxyStatusHeader (err: ProxyError): string {
  return `cxone-auth-proxy; error=${err.proxyStatus}; details="${err.code}"`
}
