import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Report } from '../src/check/report.js'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { expectNoSecrets, runCheckAgainst } from './helpers/check.js'

describe('check --json', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator({ clientAuth: 'client_secret_post' }).start() })
  afterAll(async () => { await sim.stop() })

  it('prints one JSON document with the steps, the diagnosis and the probe\'s setting, and nothing else', async () => {
    const run = await runCheckAgainst(sim, { json: true, probe: true })
    expect(run.code).toBe(1)
    const report = JSON.parse(run.text) as Report
    expect(report.ok).toBe(false)
    expect(report.exitCode).toBe(1)
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['configuration', 'ok'],
      ['issuer discovery', 'ok'],
      ['token request', 'info'],
      ['token response', 'fail']
    ])
    expect(report.steps[1]?.details).toEqual({
      tokenEndpoint: `${sim.origin}/auth/token`,
      clientAuthMethodsOffered: ['client_secret_basic', 'client_secret_post'],
      grantTypesOffered: ['password', 'client_credentials', 'refresh_token']
    })
    expect(report.steps[2]?.details).toMatchObject({
      endpoint: `${sim.origin}/auth/token`,
      grantType: 'password',
      clientAuth: 'client_secret_basic',
      basicEncoding: 'rfc6749',
      contentType: 'application/x-www-form-urlencoded',
      bodyFields: ['grant_type', 'username', 'password']
    })
    expect(report.steps[3]?.details).toEqual({ status: 401, contentType: 'application/json; charset=utf-8', error: 'invalid_client', description: 'Bad client credentials' })
    expect(report.diagnosis?.causes).toEqual([{
      code: 'client_auth_method_mismatch',
      cause: 'the app is registered for client_secret_post, not client_secret_basic: the probe\'s client_secret_post request was accepted',
      fix: 'set CXONE_CLIENT_AUTH=client_secret_post'
    }])
    expect(report.probe?.use).toEqual({ CXONE_CLIENT_AUTH: 'client_secret_post' })
    expect(report.probe?.attempts.map((a) => a.outcome)).toEqual(['client_rejected', 'duplicate', 'accepted'])
    expectNoSecrets(run)
  })

  it('on success: ok true, exit 0, the token\'s lifetime and tenant', async () => {
    const run = await runCheckAgainst(sim, { json: true, env: { CXONE_CLIENT_AUTH: 'client_secret_post' } })
    expect(run.code).toBe(0)
    const report = JSON.parse(run.text) as Report
    expect(report.ok).toBe(true)
    expect(report.diagnosis).toBeUndefined()
    const response = report.steps.find((s) => s.name === 'token response')
    expect(response?.details).toMatchObject({ status: 200, tokenType: 'Bearer', lifetimeSec: 3600, tenantId: sim.options.tenantId })
    expect(report.steps.find((s) => s.name === 'token request')?.details.bodyFields).toEqual(['grant_type', 'username', 'password', 'client_id', 'client_secret'])
    expect(report.steps.at(-2)).toMatchObject({ name: 'API call', status: 'ok' })
    expect(report.steps.at(-1)).toMatchObject({ name: 'routing', status: 'ok' })
    expectNoSecrets(run)
  })
})
