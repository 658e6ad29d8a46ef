/**
 * The shape of a `check` run: steps in order, warnings, the diagnosis of a failure and the probe's
 * findings. Plain data (never a secret), so it prints as text or as `--json` alike.
 */

export type StepName = 'configuration' | 'issuer discovery' | 'token request' | 'token response' | 'API discovery' | 'API call'
export type StepStatus = 'ok' | 'fail' | 'skip' | 'info'

export type Detail = string | number | boolean | null | Detail[] | { [key: string]: Detail }

export interface Step {
  readonly name: StepName
  readonly status: StepStatus
  readonly summary: string
  readonly details: Readonly<Record<string, Detail>>
}

/** One likely cause of a failure and what to do about it. */
export interface Cause {
  readonly cause: string
  readonly fix: string
}

export interface Diagnosis {
  /** What went wrong, in one line. */
  readonly problem: string
  /** Most likely first. */
  readonly causes: readonly Cause[]
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
  readonly clientAuth: 'client_secret_basic' | 'client_secret_post'
  readonly basicEncoding: 'rfc6749' | 'raw' | null
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
