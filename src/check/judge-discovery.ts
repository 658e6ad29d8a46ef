import { isSafeOrigin } from '../core/net.js'
import { answerLine, bodyKind, excerpt, oauthFields, parseObject } from './answer.js'
import { DEFAULT_NAMES, networkCauses, redirectCauses, serverFailingCauses, wrongUrlCauses, type CheckNames, type NetworkContext, type WrongUrlCode } from './causes.js'
import type { Observation } from './http.js'
import { step, type Cause, type Detail, type Diagnosis, type Step, type StepName } from './report.js'

/** Judging the two discovery documents (openid-configuration, cxone-configuration). Pure. */

export interface Judged<T> {
  step: Step
  value: T | undefined
  diagnosis: Diagnosis | undefined
}

export interface IssuerDoc {
  tokenEndpoint: string
  methodsOffered: string[] | undefined
}

type Net = Omit<NetworkContext, 'url' | 'urlVar'>

export function judgeIssuerDiscovery (url: string, obs: Observation, net: Net): Judged<IssuerDoc> {
  const n = net.names ?? DEFAULT_NAMES
  const doc = readDoc('issuer discovery', url, obs, { ...net, url, urlVar: n.issuer }, 'not_an_issuer', 'a CXone issuer (no OpenID discovery document)', n.issuer)
  if (doc.body === undefined) return { step: doc.failed as Step, value: undefined, diagnosis: doc.diagnosis }
  const endpoint = doc.body.token_endpoint
  if (typeof endpoint !== 'string') {
    return fail('issuer discovery', `GET ${url} → ${doc.status}, but no token_endpoint`, {}, 'issuer discovery found no token endpoint', wrongUrlCauses('not_an_issuer', 'a CXone issuer', url, n.issuer, n))
  }
  const unsafe = unsafeUrl(endpoint, 'token_endpoint', n.tokenUrl)
  if (unsafe !== undefined) return fail('issuer discovery', `GET ${url} → ${doc.status}: ${unsafe.cause}`, { tokenEndpoint: endpoint }, 'the discovered token endpoint cannot be used', [unsafe])
  const methods = stringList(doc.body.token_endpoint_auth_methods_supported)
  const details: Record<string, Detail> = { tokenEndpoint: endpoint }
  if (methods !== undefined) details.clientAuthMethodsOffered = methods
  const grants = stringList(doc.body.grant_types_supported)
  if (grants !== undefined) details.grantTypesOffered = grants
  return { step: step('issuer discovery', 'ok', `GET ${url} → ${doc.status}`, details), value: { tokenEndpoint: endpoint, methodsOffered: methods }, diagnosis: undefined }
}

export function judgeApiDiscovery (url: string, tenantId: string, obs: Observation, net: Net): Judged<string> {
  const n = net.names ?? DEFAULT_NAMES
  const doc = readDoc('API discovery', url, obs, { ...net, url, urlVar: n.issuer }, 'not_an_api_discovery_document', 'CXone\'s cxone-configuration document', n.apiUrl)
  if (doc.body === undefined) {
    if (obs.kind === 'answer' && obs.status === 404 && oauthFields(obs.text).error === 'tenant_not_found') {
      return fail('API discovery', `GET ${url} → 404 tenant_not_found`, {}, 'the issuer does not know the token\'s tenant', [
        { code: 'issuer_wrong_region', cause: `tenant ${tenantId} is not served by this issuer (another region or cloud)`, fix: `check ${n.issuer} is your tenant's region, or set ${n.apiUrl} to your API host (for example https://api-na1.niceincontact.com)` }
      ])
    }
    return { step: doc.failed as Step, value: undefined, diagnosis: doc.diagnosis }
  }
  const endpoint = doc.body.api_endpoint
  if (typeof endpoint !== 'string') {
    return fail('API discovery', `GET ${url} → ${doc.status}, but no api_endpoint`, {}, 'API discovery found no API host', [
      { code: 'no_api_endpoint', cause: 'the discovery document has no api_endpoint for this tenant', fix: `set ${n.apiUrl} (for example https://api-na1.niceincontact.com)` }
    ])
  }
  const unsafe = unsafeUrl(endpoint, 'api_endpoint', n.apiUrl)
  if (unsafe !== undefined) return fail('API discovery', `GET ${url} → ${doc.status}: ${unsafe.cause}`, { apiEndpoint: endpoint }, 'the discovered API host cannot be used', [unsafe])
  const details: Record<string, Detail> = { apiEndpoint: endpoint }
  const body = doc.body
  for (const key of ['area', 'cluster'] as const) if (typeof body[key] === 'string') details[key] = body[key]
  return { step: step('API discovery', 'ok', `GET ${url} → ${doc.status}`, details), value: new URL(endpoint).origin, diagnosis: undefined }
}

/** A token without a tenantId claim: API discovery has no tenant to ask for. */
export function judgeNoTenant (names: CheckNames = DEFAULT_NAMES): Judged<never> {
  return fail('API discovery', 'the access token carries no tenantId claim', {}, 'the API host cannot be discovered', [
    { code: 'no_tenant_claim', cause: 'the token is not a CXone JWT with a tenantId claim, so discovery has no tenant to ask for', fix: `set ${names.apiUrl} (for example https://api-na1.niceincontact.com)` }
  ])
}

interface DocRead {
  status: number
  body: Record<string, unknown> | undefined
  failed: Step | undefined
  diagnosis: Diagnosis | undefined
}

/** A discovery GET that must answer 200 with a JSON object; anything else fails with its causes. */
function readDoc (name: StepName, url: string, obs: Observation, net: NetworkContext, code: WrongUrlCode, what: string, urlVar: string): DocRead {
  const problem = `${name} failed`
  const failed = (summary: string, causes: Cause[], details: Record<string, Detail> = {}): DocRead => {
    const j = fail(name, `GET ${url} → ${summary}`, details, problem, causes)
    return { status: 0, body: undefined, failed: j.step, diagnosis: j.diagnosis }
  }
  if (obs.kind === 'network') return failed(answerLine(obs, net.timeoutMs), networkCauses(obs.error, net))
  const line = answerLine(obs, net.timeoutMs)
  if (obs.status >= 300 && obs.status < 400) return failed(line, redirectCauses(url, obs.location, urlVar))
  if (obs.status === 429 || obs.status >= 500) return failed(line, serverFailingCauses(obs.status, obs.retryAfter))
  const body = obs.status === 200 ? parseObject(obs.text) : undefined
  if (body === undefined) {
    const kind = bodyKind(obs.contentType, obs.text)
    const details: Record<string, Detail> = kind === 'html' || kind === 'other' ? { excerpt: excerpt(obs.text) } : {}
    return failed(line, wrongUrlCauses(code, what, url, urlVar, net.names), details)
  }
  return { status: obs.status, body, failed: undefined, diagnosis: undefined }
}

function fail (name: StepName, summary: string, details: Record<string, Detail>, problem: string, causes: Cause[]): Judged<never> {
  return { step: step(name, 'fail', summary, details), value: undefined, diagnosis: { problem, causes } }
}

/** A discovered URL that is not a URL, or plain http off loopback (a secret or bearer would travel unencrypted). */
function unsafeUrl (value: string, field: string, overrideVar: string): Cause | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return { code: 'discovered_url_invalid', cause: `${field}="${value}" is not a URL`, fix: `set ${overrideVar} to the right https:// URL` }
  }
  if (isSafeOrigin(url)) return undefined
  return { code: 'discovered_url_plain_http', cause: `${field}=${value} is a plain-http endpoint off loopback: credentials would travel unencrypted`, fix: `set ${overrideVar} to the https:// URL` }
}

function stringList (value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined
}
