import type { BasicEncoding, ClientAuthMethod } from '../core/settings.js'
import { buildTokenRequest, type FetchFn, type TokenRequestParams } from '../token/token-client.js'
import { answerLine, attemptOutcome } from './answer.js'
import { DEFAULT_NAMES, invalidClientCauses, type AuthContext, type CheckNames } from './causes.js'
import { observeToken, type Observation } from './http.js'
import { label, type AttemptOutcome, type Diagnosis, type ProbeAttempt, type ProbeReport } from './report.js'

/**
 * `--probe`: the client-authentication variants a CXone app can be registered for, each tried at most
 * once, so the user learns which one the server accepts and which setting selects it.
 */

export interface Variant {
  clientAuth: ClientAuthMethod
  basicEncoding: BasicEncoding | null
}

export const VARIANTS: readonly Variant[] = [
  { clientAuth: 'client_secret_basic', basicEncoding: 'rfc6749' },
  { clientAuth: 'client_secret_basic', basicEncoding: 'raw' },
  { clientAuth: 'client_secret_post', basicEncoding: null }
]

function isConfigured (v: Variant, p: TokenRequestParams): boolean {
  return v.clientAuth === p.clientAuth && (v.clientAuth === 'client_secret_post' || v.basicEncoding === p.basicEncoding)
}

const GOOD = new Set<AttemptOutcome>(['accepted', 'client_accepted'])

/**
 * Tries the variants other than the configured one (whose answer is `configuredObs`). Sends nothing when
 * the configured answer already shows the client was accepted, or was no OAuth answer at all.
 */
export async function runProbe (params: TokenRequestParams, configuredObs: Observation, fetchFn: FetchFn, timeoutMs: number): Promise<{ attempts: ProbeAttempt[], observations: Observation[] }> {
  const configuredOutcome = attemptOutcome(configuredObs)
  const attempts: ProbeAttempt[] = []
  const observations: Observation[] = []
  const sentBodies = new Map<string, string>()
  let found = GOOD.has(configuredOutcome)
  const configuredReq = buildTokenRequest(params)
  sentBodies.set(requestKey(configuredReq), 'the configured request')
  for (const v of VARIANTS) {
    const base = { clientAuth: v.clientAuth, basicEncoding: v.basicEncoding }
    if (isConfigured(v, params)) {
      attempts.push({ ...base, configured: true, outcome: configuredOutcome, answer: answerLine(configuredObs, timeoutMs) })
      continue
    }
    const req = buildTokenRequest({ ...params, clientAuth: v.clientAuth, basicEncoding: v.basicEncoding ?? params.basicEncoding })
    const same = sentBodies.get(requestKey(req))
    if (configuredOutcome === 'unclear') {
      attempts.push({ ...base, configured: false, outcome: 'not_sent', answer: 'not sent: the configured request got no OAuth answer, so no variant can be judged' })
    } else if (found) {
      attempts.push({ ...base, configured: false, outcome: 'not_sent', answer: 'not sent: an accepted variant is already known' })
    } else if (same !== undefined) {
      attempts.push({ ...base, configured: false, outcome: 'duplicate', answer: `not sent: the same bytes as ${same} for these credentials` })
    } else {
      const obs = await observeToken(fetchFn, req, timeoutMs)
      observations.push(obs)
      const outcome = attemptOutcome(obs)
      sentBodies.set(requestKey(req), label(v))
      attempts.push({ ...base, configured: false, outcome, answer: answerLine(obs, timeoutMs) })
      found = GOOD.has(outcome)
    }
  }
  return { attempts, observations }
}

function requestKey (req: { headers: Record<string, string>, body: string }): string {
  return `${req.headers.authorization ?? ''}\n${req.body}`
}

/** Which variant to use and the settings that select it. Pure. */
export function probeVerdict (attempts: readonly ProbeAttempt[], params: Pick<TokenRequestParams, 'clientAuth' | 'basicEncoding'>, names: CheckNames = DEFAULT_NAMES): ProbeReport {
  const winner = attempts.find((a) => a.configured && GOOD.has(a.outcome)) ?? attempts.find((a) => GOOD.has(a.outcome))
  if (winner === undefined) {
    const unclear = attempts.some((a) => a.outcome === 'unclear' || a.outcome === 'not_sent')
    return {
      attempts,
      conclusion: unclear
        ? 'no conclusion: the token endpoint gave no OAuth answer (fix the URL or network first)'
        : 'the server accepted none of the variants: the client id or secret is wrong, or the app registration is not approved',
      use: undefined
    }
  }
  const use: Record<string, string> = { [names.clientAuth]: winner.clientAuth }
  if (winner.clientAuth === 'client_secret_basic') use[names.basicEncoding] = winner.basicEncoding ?? 'rfc6749'
  const how = winner.outcome === 'accepted' ? 'issued a token' : 'accepted the client (the grant itself failed)'
  return {
    attempts,
    conclusion: winner.configured
      ? `the configured ${label(winner)} is accepted: the server ${how}`
      : `the server ${how} with ${label(winner)}, not with the configured ${label({ clientAuth: params.clientAuth, basicEncoding: params.basicEncoding })}`,
    use
  }
}

/** The diagnosis once the probe has spoken: a found variant is the cause; all rejected rules out method and encoding. */
export function refineDiagnosis (diagnosis: Diagnosis | undefined, probe: ProbeReport, auth: AuthContext): Diagnosis | undefined {
  if (diagnosis === undefined) return undefined
  const winner = probe.attempts.find((a) => !a.configured && GOOD.has(a.outcome))
  if (winner !== undefined && probe.use !== undefined) {
    const settings = Object.entries(probe.use).map(([k, v]) => `${k}=${v}`).join(' ')
    const methodDiffers = winner.clientAuth !== auth.clientAuth
    const code = methodDiffers ? 'client_auth_method_mismatch' : 'basic_encoding_mismatch'
    const what = methodDiffers
      ? `the app is registered for ${winner.clientAuth}, not ${auth.clientAuth}`
      : `the server decodes the Basic header ${winner.basicEncoding === 'raw' ? 'raw (it does not form-decode, against RFC 6749 §2.3.1)' : 'as RFC 6749 §2.3.1 says (form-decoding)'}`
    return { problem: diagnosis.problem, causes: [{ code, cause: `${what}: the probe's ${label(winner)} request was accepted`, fix: `set ${settings}` }] }
  }
  const allRejected = probe.attempts.every((a) => a.outcome === 'client_rejected' || a.outcome === 'duplicate')
  if (allRejected) return { problem: diagnosis.problem, causes: invalidClientCauses(auth, true) }
  return diagnosis
}
