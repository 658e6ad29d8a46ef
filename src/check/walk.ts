import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { Config, Profile } from '../core/config.js'
import { hasEnvProxy } from '../core/http-clients.js'
import { settingName } from '../core/settings.js'
import { basicEncodingsDiffer } from '../token/client-auth.js'
import { tokenParams } from '../token/obtain.js'
import { buildTokenRequest, type FetchFn, type TokenSet } from '../token/token-client.js'
import { compileRouting, type SettingNamer } from '../core/routing.js'
import { Discovery } from '../token/discovery.js'
import { routingView } from '../token/upstreams.js'
import { parseObject } from './answer.js'
import { callersStep } from './caller-check.js'
import { checkNames, type AuthContext, type NetworkContext } from './causes.js'
import { judgeConfig } from './config-step.js'
import { observeGet, observeToken, type Observation } from './http.js'
import { judgeApiDiscovery, judgeIssuerDiscovery, judgeNoTenant, type Judged } from './judge-discovery.js'
import { judgeApiCall } from './judge-api.js'
import { judgeRouting } from './judge-routing.js'
import { judgeTokenResponse } from './judge-token.js'
import { localAuthStep } from './local-auth-step.js'
import { describeTokenRequest, secretForms } from './mask.js'
import { probeVerdict, refineDiagnosis, runProbe } from './probe.js'
import type { Output } from './render.js'
import { EXIT_CONFIG, EXIT_FAILED, EXIT_OK, step, type Diagnosis, type ProbeReport, type Report, type Step } from './report.js'

/** CXone's documented read-only call: answers {"ServerTime": …}. */
export const SERVER_TIME_PATH = '/inContactAPI/services/v25.0/server-time'

export interface WalkOptions {
  env: NodeJS.ProcessEnv
  probe: boolean
  fetch: FetchFn
  now?: () => number
  /** `--route <path>`: which upstream this path would go to, and its origin (issue 11). */
  route?: string | undefined
  /** DNS lookup of a routed upstream's host (default: node:dns). */
  lookup?: LookupFn
}

export type LookupFn = (host: string) => Promise<unknown>

interface Walk {
  steps: Step[]
  warnings: string[]
  out: Output
}

interface Outcome {
  exitCode: number
  diagnosis: Diagnosis | undefined
  probe: ProbeReport | undefined
}

function record (w: Walk, s: Step): void {
  w.steps.push(s)
  w.out.step(s)
}

/**
 * One profile's token call, step by step: configuration → issuer discovery → token request → token response →
 * API discovery → one read-only API call, each printed as it finishes; resolves to the profile's report.
 */
export async function walkProfile (config: Config, profile: Profile, opts: WalkOptions, out: Output): Promise<Report> {
  const w: Walk = { steps: [], warnings: [], out }
  const { exitCode, diagnosis, probe } = await walk(config, profile, opts, w)
  return { ok: exitCode === EXIT_OK, exitCode, steps: w.steps, warnings: w.warnings, diagnosis, probe }
}

async function walk (config: Config, profile: Profile, opts: WalkOptions, w: Walk): Promise<Outcome> {
  const s = profile.settings
  const c = profile.credentials
  const name = (key: 'issuer' | 'tokenUrl' | 'apiUrl'): string => settingName(profile.name, key)
  w.out.hide(secretForms([c.clientId, c.clientSecret, c.accessKeyId, c.accessKeySecret]))
  const cj = judgeConfig(config, opts.env, profile)
  record(w, cj.step)
  for (const warning of cj.warnings) { w.warnings.push(warning); w.out.warning(warning) }
  if (cj.diagnosis !== undefined) return { exitCode: EXIT_CONFIG, diagnosis: cj.diagnosis, probe: undefined }
  const callers = callersStep(profile)
  if (callers !== undefined) { record(w, callers.step); for (const warning of callers.warnings) { w.warnings.push(warning); w.out.warning(warning) } }

  const fetchFn = opts.fetch
  const timeoutMs = s.tokenTimeoutMs
  const names = checkNames(profile.name)
  const net = { timeoutMs, envProxy: hasEnvProxy(opts.env), names }
  const failed = (d: Diagnosis | undefined, probe?: ProbeReport): Outcome => ({ exitCode: EXIT_FAILED, diagnosis: d, probe })

  let tokenUrl = s.tokenUrl
  let methodsOffered: readonly string[] | undefined
  if (tokenUrl !== undefined) {
    record(w, step('issuer discovery', 'skip', `not needed: ${name('tokenUrl')} is set (${profile.sources.tokenUrl})`, { tokenEndpoint: tokenUrl }))
  } else {
    const url = `${s.issuer}/.well-known/openid-configuration`
    const j = judgeIssuerDiscovery(url, await observeGet(fetchFn, url, { accept: 'application/json' }, timeoutMs), net)
    record(w, j.step)
    if (j.value === undefined) return failed(j.diagnosis)
    tokenUrl = j.value.tokenEndpoint
    methodsOffered = j.value.methodsOffered
  }

  const params = tokenParams(s, c, tokenUrl)
  const req = buildTokenRequest(params)
  if (req.headers.authorization !== undefined) w.out.hide(secretForms([], [req.headers.authorization]))
  record(w, step('token request', 'info', `POST ${tokenUrl} (as sent, secrets masked)`, {
    grantType: s.grantType,
    clientAuth: s.clientAuth,
    ...(s.clientAuth === 'client_secret_basic' ? { basicEncoding: s.basicEncoding } : {}),
    ...describeTokenRequest(req, c.clientId, c.clientSecret, profile.secretVars)
  }))
  const tokenObs = await observeToken(fetchFn, req, timeoutMs)
  w.out.hide(tokensIn(tokenObs))
  const auth: AuthContext = { clientAuth: s.clientAuth, basicEncoding: s.basicEncoding, grantType: s.grantType, encodingsDiffer: basicEncodingsDiffer(c.clientId, c.clientSecret), methodsOffered, names, values: c, issuer: s.issuer }
  const tokenNet = { ...net, url: tokenUrl, urlVar: name(s.tokenUrl !== undefined ? 'tokenUrl' : 'issuer') }
  const tj = judgeTokenResponse(tokenObs, (opts.now ?? Date.now)(), auth, tokenNet)
  record(w, tj.step)

  let probe: ProbeReport | undefined
  let diagnosis = tj.diagnosis
  if (opts.probe) {
    const { attempts, observations } = await runProbe(params, tokenObs, fetchFn, timeoutMs)
    for (const o of observations) w.out.hide(tokensIn(o))
    probe = probeVerdict(attempts, params, names)
    diagnosis = refineDiagnosis(diagnosis, probe, auth)
  }
  if (tj.value === undefined) return failed(diagnosis, probe)

  const api = await apiSteps(tj.value, profile, fetchFn, net, w)
  const routed = await routingStep(tj.value, profile, fetchFn, opts.route, w, opts.lookup ?? lookup)
  // issue 23: what a script pointed at the proxy would be told by discovery (never fails the run).
  const local = await localAuthStep(tj.value, profile, fetchFn)
  if (local !== undefined) record(w, local)
  const problem = api ?? routed
  return problem === undefined ? { exitCode: EXIT_OK, diagnosis: undefined, probe } : failed(problem, probe)
}

/** The routing table with each upstream's origin, found the way `start` finds them (the same discovery code). */
async function routingStep (token: TokenSet, profile: Profile, fetchFn: FetchFn, route: string | undefined, w: Walk, lookupFn: LookupFn): Promise<Diagnosis | undefined> {
  const s = profile.settings
  const table = compileRouting(s.upstreams)
  const nameOf = (key: Parameters<SettingNamer>[0]): string => settingName(profile.name, key)
  const discovery = new Discovery({ ...s, fetch: fetchFn, timeoutMs: s.tokenTimeoutMs, nameOf })
  const hosts = await discovery.hosts(token.tenantId).catch(() => undefined)
  const rows = routingView(table, hosts)
  const origin = route === undefined ? null : rows.find((r) => r.upstream === table.route(route.split('?', 1)[0] as string))?.origin ?? null
  const j = judgeRouting(table, rows, route, nameOf, origin === null ? undefined : await unresolvable(origin, lookupFn))
  record(w, j.step)
  return j.diagnosis
}

/** Why an upstream's host does not resolve (ENOTFOUND, …), or undefined when it does: `start` would answer 502. */
async function unresolvable (origin: string, lookupFn: LookupFn): Promise<string | undefined> {
  const host = new URL(origin).hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) !== 0) return undefined
  try {
    await lookupFn(host)
    return undefined
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'lookup failed'
  }
}

/** API discovery and the read-only call; resolves to the diagnosis of a failure, or undefined. */
async function apiSteps (token: TokenSet, profile: Profile, fetchFn: FetchFn, net: Omit<NetworkContext, 'url' | 'urlVar'>, w: Walk): Promise<Diagnosis | undefined> {
  const s = profile.settings
  const apiUrlName = settingName(profile.name, 'apiUrl')
  let origin: string
  if (s.apiUrl !== undefined) {
    origin = new URL(s.apiUrl).origin
    record(w, step('API discovery', 'skip', `not needed: ${apiUrlName} is set (${profile.sources.apiUrl})`, { apiEndpoint: origin }))
  } else if (token.tenantId === undefined) {
    const j = judgeNoTenant(net.names)
    record(w, j.step)
    return j.diagnosis
  } else {
    const url = `${s.issuer}/.well-known/cxone-configuration?tenantId=${encodeURIComponent(token.tenantId)}`
    const j: Judged<string> = judgeApiDiscovery(url, token.tenantId, await observeGet(fetchFn, url, { accept: 'application/json' }, net.timeoutMs), net)
    record(w, j.step)
    if (j.value === undefined) return j.diagnosis
    origin = j.value
  }
  const url = `${origin}${SERVER_TIME_PATH}`
  const obs = await observeGet(fetchFn, url, { accept: 'application/json', authorization: `Bearer ${token.accessToken}` }, net.timeoutMs)
  const j = judgeApiCall(url, obs, { ...net, url, urlVar: apiUrlName })
  record(w, j.step)
  return j.diagnosis
}

/** Tokens in a token endpoint's answer, to keep out of the output. */
function tokensIn (obs: Observation): string[] {
  if (obs.kind !== 'answer') return []
  const body = parseObject(obs.text)
  if (body === undefined) return []
  return secretForms(['access_token', 'refresh_token', 'id_token'].map((k) => typeof body[k] === 'string' ? body[k] : undefined))
}
