import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator, DEMO_CREDENTIALS, DEMO_TENANT_ID, DEMO_TENANT_TWO } from '../src/simulator/simulator.js'
import type { SimulatorCredentials } from '../src/simulator/token-endpoint.js'
import { basicAuthorization } from '../src/token/client-auth.js'

/** The simulator serves two business units on one issuer (issue 12): each app gets its own tenant's token. */

describe('a simulator with a second tenant', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator({ otherTenants: [DEMO_TENANT_TWO] }).start() })
  afterAll(async () => { await sim.stop() })

  async function token (app: SimulatorCredentials, key: SimulatorCredentials): Promise<{ status: number, body: Record<string, unknown> }> {
    const res = await fetch(`${sim.origin}/auth/token`, {
      method: 'POST',
      headers: { authorization: basicAuthorization(app.clientId, app.clientSecret, 'rfc6749'), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: key.accessKeyId, password: key.accessKeySecret }).toString()
    })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }
  const tenantOf = (jwt: unknown): unknown => (JSON.parse(Buffer.from(String(jwt).split('.')[1] ?? '', 'base64url').toString()) as { tenantId: unknown }).tenantId

  it('issues each app a token of its own tenant', async () => {
    const one = await token(DEMO_CREDENTIALS, DEMO_CREDENTIALS)
    const two = await token(DEMO_TENANT_TWO.credentials, DEMO_TENANT_TWO.credentials)
    expect([one.status, two.status]).toEqual([200, 200])
    expect(tenantOf(one.body.access_token)).toBe(DEMO_TENANT_ID)
    expect(tenantOf(two.body.access_token)).toBe(DEMO_TENANT_TWO.tenantId)
  })

  it('refuses one tenant\'s access key with the other\'s app', async () => {
    expect(await token(DEMO_TENANT_TWO.credentials, DEMO_CREDENTIALS)).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid access key' } })
  })

  it('answers API discovery for both tenants, and no other', async () => {
    const doc = async (tenantId: string): Promise<number> => (await fetch(`${sim.origin}/.well-known/cxone-configuration?tenantId=${tenantId}`)).status
    expect([await doc(DEMO_TENANT_ID), await doc(DEMO_TENANT_TWO.tenantId), await doc('33333333-0000-4000-8000-000000000000')]).toEqual([200, 200, 404])
  })
})
