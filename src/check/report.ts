/**
 * The shape of a `check` run: steps in order, warnings, the diagnosis of a failure and the probe's
 * findings. Plain data (never a secret), so it prints as text or as `--json` alike.
 */
import type { BasicEncoding, ClientAuthMethod } from '../core/settings.js'

export type StepName = 'configuration' | 'issuer discovery' | 'token request' | 'token response' | 'API discovery' | 'API call' | 'routing' | 'local auth' | 'callers'
export type StepStatus = 'ok' | 'fail' | 'skip' | 'info'

export type Detail = string | number | boolean | null | Detail[] | { [key: string]: Detail }

export interface Step {
  readonly name: StepName
  readonly status: StepStatus
  readonly summary: string
  readonly details: Readonly<Record<string, Detail>>
}

/**
 * Every cause `check` can name, by a stable snake_case code a script reading `--json` can branch on, with what it
 * means (the README's table). Codes name the cause, not the step, in the spirit of RFC 9209 error types; the
 * `config_*` codes and `listen_failed` are ConfigError's own (core/errors.ts), so a new one fails the type check
 * in config-step.ts until it is listed here.
 */
export const CAUSE_CODES = {
  config_invalid_value: 'a setting has an invalid value',
  config_missing_secret: 'a credential is not set (client id or secret, half an access key, or none for the password grant)',
  config_conflicting_secret: 'both NAME and NAME_FILE are set',
  config_unreadable_secret: 'a NAME_FILE cannot be read, or is empty',
  config_file_unreadable: 'the config file cannot be read',
  config_file_invalid: 'the config file is not a JSON object of settings',
  config_unknown_setting: 'the config file holds an unknown setting, a secret, or a process-wide setting in a profile',
  config_unsafe: 'a plain-http CXone URL off loopback, or a non-loopback PROXY_HOST without PROXY_API_KEYS',
  config_port_conflict: 'a profile\'s port is another listener\'s: the default profile\'s, the admin listener\'s or another profile\'s',
  listen_failed: 'a listener cannot bind (never from check, which does not listen)',
  credentials_misplaced: 'a credential has another one\'s shape: the access-key pair given as the client pair, the pairs swapped',
  credential_whitespace: 'a credential starts or ends with whitespace (copied with a space or line break)',
  wrong_client_credentials: 'the client id or secret is wrong',
  app_not_approved: 'the app registration is not approved yet, or was disabled',
  client_auth_method_mismatch: 'the app is registered for the other client authentication method (CXONE_CLIENT_AUTH)',
  basic_encoding_mismatch: 'the server decodes the Basic header the other way (CXONE_BASIC_ENCODING)',
  grant_not_allowed: 'the app may not use the configured grant',
  wrong_access_key: 'the access key id and secret do not match a key',
  access_key_revoked: 'the access key was revoked or deactivated',
  access_key_user_inactive: 'the access key\'s user is deactivated or locked',
  token_request_refused: 'the token endpoint answered another OAuth error (unauthorized_client, invalid_scope, …)',
  unusable_token_response: 'the token endpoint answered JSON with a token the proxy cannot use',
  not_a_token_endpoint: 'the token URL answers, but not as a CXone token endpoint: wrong URL or region',
  not_an_issuer: 'the issuer URL has no OpenID discovery document with a token endpoint: wrong URL or region',
  not_an_api_discovery_document: 'the issuer\'s cxone-configuration document is missing or not JSON: wrong URL or region',
  not_an_api_host: 'the API URL answers, but not as a CXone API host: wrong URL or region',
  intermediary_answered: 'a corporate proxy, captive portal or login page answered instead of CXone',
  redirect_not_followed: 'the URL redirects, and check and the proxy never follow redirects',
  rate_limited: 'the server answered 429',
  server_failing: 'the server answered 5xx',
  dns_failure: 'the host name does not resolve',
  tls_untrusted: 'the server\'s TLS certificate is not trusted (often a TLS-inspecting proxy)',
  network_timeout: 'no answer in time: a firewall drops the traffic, or HTTPS must go through a proxy',
  endpoint_slow: 'the network or the server is only slow',
  connection_refused: 'nothing listens at the host and port',
  port_blocked: 'the URL\'s port is one fetch never connects to (such as 1)',
  connection_failed: 'the connection failed otherwise (reset, closed)',
  discovered_url_invalid: 'a discovery document names something that is not a URL',
  discovered_url_plain_http: 'a discovery document names a plain-http endpoint off loopback',
  issuer_wrong_region: 'the issuer does not serve the token\'s tenant (tenant_not_found): another region or cloud',
  no_api_endpoint: 'the cxone-configuration document has no api_endpoint for the tenant',
  no_tenant_claim: 'the token has no tenantId claim, so the API host cannot be discovered',
  api_host_wrong_region: 'the API host does not accept the tenant\'s token: another region or cluster',
  token_revoked: 'the token was revoked as soon as it was issued',
  api_permission_missing: 'the token is valid but not allowed this API',
  upstream_not_configured: 'the routing table sends the path to an upstream whose host is not known'
} as const satisfies Record<string, string>

export type CauseCode = keyof typeof CAUSE_CODES

/** One likely cause of a failure and what to do about it. */
export interface Cause {
  readonly code: CauseCode
  readonly cause: string
  readonly fix: string
}

export interface Diagnosis {
  /** What went wrong, in one line. */
  readonly problem: string
  /** Most likely first. */
  readonly causes: readonly Cause[]
  /** When the causes stay ambiguous: the run that tells them apart, e.g. `cxone-auth-proxy check --probe`. */
  readonly settle?: string
}

export type AttemptOutcome =
  /** A token was issued. */
  | 'accepted'
  /** The client was authenticated; the grant failed (invalid_grant, unauthorized_client…). */
  | 'client_accepted'
  | 'client_rejected'
  /** No OAuth answer (network, HTML, 5xx): says nothing about the client authentication. */
  | 'unclear'
  /** Not sent: for these credentials it would repeat another attempt's bytes. */
  | 'duplicate'
  /** Not sent: nothing to learn from it (a variant was already accepted, or the endpoint gave no OAuth answer). */
  | 'not_sent'

export interface ProbeAttempt {
  readonly clientAuth: ClientAuthMethod
  readonly basicEncoding: BasicEncoding | null
  readonly configured: boolean
  readonly outcome: AttemptOutcome
  /** `401 invalid_client`, or why it was not sent. */
  readonly answer: string
}

export interface ProbeReport {
  readonly attempts: readonly ProbeAttempt[]
  readonly conclusion: string
  /** The settings to use, e.g. {CXONE_CLIENT_AUTH: 'client_secret_post'}; absent when nothing was accepted. */
  readonly use: Readonly<Record<string, string>> | undefined
}

export interface Report {
  readonly ok: boolean
  readonly exitCode: number
  readonly steps: readonly Step[]
  readonly warnings: readonly string[]
  readonly diagnosis: Diagnosis | undefined
  readonly probe: ProbeReport | undefined
}

/** Exit codes: 0 token and API call fine, 1 a later step failed, 2 the configuration is incomplete or invalid. */
export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_CONFIG = 2

export function step (name: StepName, status: StepStatus, summary: string, details: Record<string, Detail> = {}): Step {
  return { name, status, summary, details }
}

/** `client_secret_basic (raw)` or `client_secret_post`. */
export function label (v: Pick<ProbeAttempt, 'clientAuth' | 'basicEncoding'>): string {
  return v.clientAuth === 'client_secret_post' ? 'client_secret_post' : `client_secret_basic (${v.basicEncoding ?? 'rfc6749'})`
}
