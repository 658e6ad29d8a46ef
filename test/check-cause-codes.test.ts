import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { invalidClientCauses, type AuthContext } from '../src/check/causes.js'
import { configErrorJudgement, judgeConfig } from '../src/check/config-step.js'
import type { Observation } from '../src/check/http.js'
import { judgeApiCall } from '../src/check/judge-api.js'
import { judgeApiDiscovery, judgeIssuerDiscovery, judgeNoTenant } from '../src/check/judge-discovery.js'
import { judgeTokenResponse } from '../src/check/judge-token.js'
import { refineDiagnosis } from '../src/check/probe.js'
import { judgeRouting } from '../src/check/judge-routing.js'
import { compileRouting } from '../src/core/routing.js'
import { routingView } from '../src/token/upstreams.js'
import { CAUSE_CODES, type Cause, type Diagnosis, type ProbeAttempt, type Report } from '../src/check/report.js'
import { loadConfig } from '../src/core/config.js'
import { ConfigError, type ConfigErrorCode } from '../src/core/errors.js'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { NO_CONFIG_DIR, runCheckAgainst } from './helpers/check.js'

/** Every cause `check` names carries a stable snake_case code from the one list in report.ts. */

const AUTH: AuthContext = { clientAuth: 'client_secret_basic', basicEncoding: 'rfc6749', grantType: 'password', encodingsDiffer: false, methodsOffered: undefined }
const TOKEN_NET = { url: 'https://cxone.example/auth/token', urlVar: 'CXONE_ISSUER', timeoutMs: 1000, envProxy: false }
const NET = { timeoutMs: 1000, envProxy: false }
const API_URL = 'https://api-na1.example/inContactAPI/services/v25.0/server-time'
const ISSUER_DOC = 'https://cxone.example/.well-known/openid-configuration'
const API_DOC = 'https://cxone.example/.well-known/cxone-configuration?tenantId=t1'

const answer = (status: number, body: string, contentType = 'application/json', location: string | null = null): Observation => ({ kind: 'answer', status, contentType, text: body, location, retryAfter: null })
const network = (code: string): Observation => ({ kind: 'network', error: new TypeError('fetch failed', { cause: Object.assign(new Error(`${code} simulated`), { code }) }) })
const timeout: Observation = { kind: 'network', error: new DOMException('The operation was aborted due to timeout', 'TimeoutError') }
const html = '<html><body>Sign in</body></html>'

/** Every ConfigError code (a Record, so the type check fails here when core/errors.ts gains one). */
const CONFIG_CODES: Record<ConfigErrorCode, null> = {
  config_invalid_value: null,
  config_missing_secret: null,
  config_conflicting_secret: null,
  config_unreadable_secret: null,
  config_file_unreadable: null,
  config_file_invalid: null,
  config_unknown_setting: null,
  config_unsafe: null,
  config_port_conflict: null,
  listen_failed: null
}

const causesOf = (d: Diagnosis | undefined): readonly Cause[] => d?.causes ?? []

/** The causes of every failure the pure judge functions know, driven with plain objects. */
function everyJudgedCause (): Cause[] {
  const token = (obs: Observation, auth: Partial<AuthContext> = {}): readonly Cause[] => causesOf(judgeTokenResponse(obs, 0, { ...AUTH, ...auth }, TOKEN_NET).diagnosis)
  const issuer = (obs: Observation): readonly Cause[] => causesOf(judgeIssuerDiscovery(ISSUER_DOC, obs, NET).diagnosis)
  const apiDoc = (obs: Observation): readonly Cause[] => causesOf(judgeApiDiscovery(API_DOC, 't1', obs, NET).diagnosis)
  const api = (obs: Observation): readonly Cause[] => causesOf(judgeApiCall(API_URL, obs, { ...NET, url: API_URL, urlVar: 'CXONE_API_URL' }).diagnosis)
  const tokenFailure = judgeTokenResponse(answer(401, '{"error":"invalid_client"}'), 0, AUTH, TOKEN_NET).diagnosis as Diagnosis
  const attempt = (a: Partial<ProbeAttempt>): ProbeAttempt => ({ clientAuth: 'client_secret_basic', basicEncoding: 'rfc6749', configured: false, outcome: 'client_rejected', answer: '401 invalid_client', ...a })
  const probed = (attempts: ProbeAttempt[], use: Record<string, string> | undefined): readonly Cause[] =>
    causesOf(refineDiagnosis(tokenFailure, { attempts, conclusion: '', use }, AUTH))
  const missing = loadConfig({ env: { CXONE_CLIENT_ID: 'id', CXONE_ACCESS_KEY_ID: 'key' }, cwd: NO_CONFIG_DIR, allowMissingCredentials: true })
  const noAccessKey = loadConfig({ env: { CXONE_CLIENT_ID: 'id', CXONE_GRANT_TYPE: 'password' }, cwd: NO_CONFIG_DIR, allowMissingCredentials: true })
  return [
    ...token(answer(401, '{"error":"invalid_client"}')),
    ...token(answer(401, '{"error":"invalid_client"}'), { encodingsDiffer: true }),
    ...token(answer(400, '{"error":"invalid_grant"}')),
    ...token(answer(400, '{"error":"invalid_grant"}'), { grantType: 'client_credentials' }),
    ...token(answer(400, '{"error":"invalid_scope"}')),
    ...token(answer(200, '{"access_token":"t","token_type":"mac","expires_in":3600}')),
    ...token(answer(200, html, 'text/html')),
    ...token(answer(302, '', '', 'https://elsewhere.example/')),
    ...token(answer(429, '')),
    ...token(answer(503, '')),
    ...token(network('ENOTFOUND')),
    ...token(network('SELF_SIGNED_CERT_IN_CHAIN')),
    ...token(timeout),
    ...token(network('ECONNREFUSED')),
    ...token(network('ECONNRESET')),
    ...token({ kind: 'network', error: new TypeError('fetch failed', { cause: new Error('bad port') }) }),
    ...token(answer(401, '{"error":"invalid_client"}'), { values: { clientId: 'SIMKEYID7XQ2M4T9L0P3R8W6Z1V5B', clientSecret: 'secret ' } }),
    ...issuer(answer(404, '{"error":"not_found"}')),
    ...issuer(answer(200, '{}')),
    ...issuer(answer(200, '{"token_endpoint":"not a url"}')),
    ...issuer(answer(200, '{"token_endpoint":"http://cxone.example.com/auth/token"}')),
    ...apiDoc(answer(404, '{"error":"tenant_not_found"}')),
    ...apiDoc(answer(200, '{}')),
    ...apiDoc(answer(200, html, 'text/html')),
    ...causesOf(judgeNoTenant().diagnosis),
    ...api(answer(401, '{"error":"invalid_token"}')),
    ...api(answer(403, '')),
    ...api(answer(404, html, 'text/html')),
    ...probed([attempt({ configured: true }), attempt({ clientAuth: 'client_secret_post', basicEncoding: null, outcome: 'accepted' })], { CXONE_CLIENT_AUTH: 'client_secret_post' }),
    ...probed([attempt({ configured: true }), attempt({ basicEncoding: 'raw', outcome: 'accepted' })], { CXONE_CLIENT_AUTH: 'client_secret_basic', CXONE_BASIC_ENCODING: 'raw' }),
    ...invalidClientCauses(AUTH, true),
    ...causesOf(judgeConfig(missing, {}).diagnosis),
    ...causesOf(judgeConfig(noAccessKey, {}).diagnosis),
    ...(Object.keys(CONFIG_CODES) as ConfigErrorCode[]).flatMap((code) => causesOf(configErrorJudgement([new ConfigError('a message', { code })]).diagnosis)),
    ...causesOf(judgeRouting(compileRouting([]), routingView(compileRouting([]), undefined), '/dfo/3.0/contacts').diagnosis)
  ]
}

describe('check\'s cause codes', () => {
  it('are snake_case words, each with a meaning', () => {
    for (const [code, meaning] of Object.entries(CAUSE_CODES)) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/)
      expect(meaning).not.toBe('')
    }
  })

  it('every cause a judge function returns has a listed code, and every listed code is returned by one', () => {
    const causes = everyJudgedCause()
    for (const c of causes) expect(Object.keys(CAUSE_CODES), `${c.cause} → ${c.code}`).toContain(c.code)
    expect([...new Set(causes.map((c) => c.code))].sort()).toEqual(Object.keys(CAUSE_CODES).sort())
  })

  it('a configuration error\'s cause code is its ConfigError code, whatever the message says', () => {
    const message = 'CXONE_ISSUER=http://x.example uses plain http off loopback'
    const j = configErrorJudgement([new ConfigError(message, { code: 'config_invalid_value' })])
    expect(j.diagnosis?.causes).toEqual([{ code: 'config_invalid_value', cause: message, fix: 'correct the setting the message names, then run `cxone-auth-proxy check` again' }])
  })

  it('docs/check.md lists every code in its table', () => {
    const readme = readFileSync('docs/check.md', 'utf8')
    for (const code of Object.keys(CAUSE_CODES)) expect(readme, code).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'))
  })
})

describe('check --json with a wrong client secret', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator().start() })
  afterAll(async () => { await sim.stop() })

  it('leads with wrong_client_credentials, a code a script can branch on', async () => {
    const run = await runCheckAgainst(sim, { json: true, env: { CXONE_CLIENT_SECRET: 'WrongClientSecret0123456789abcdef' } })
    expect(run.code).toBe(1)
    const report = JSON.parse(run.text) as Report
    expect(report.diagnosis?.causes.map((c) => c.code)).toEqual(['wrong_client_credentials', 'app_not_approved', 'client_auth_method_mismatch'])
  })
})
