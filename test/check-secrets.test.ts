import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator, DEMO_CREDENTIALS } from '../src/simulator/simulator.js'
import { expectNoSecrets, runCheckAgainst } from './helpers/check.js'

describe('check never prints a secret or a token', () => {
  let sim: CxoneSimulator
  beforeAll(async () => { sim = await new CxoneSimulator({ clientAuth: 'client_secret_post' }).start() })
  afterAll(async () => { await sim.stop() })

  it('in text and JSON, with and without --probe (tokens issued to the probe included)', async () => {
    for (const json of [false, true]) {
      for (const probe of [false, true]) {
        const run = await runCheckAgainst(sim, { json, probe })
        if (probe) expect(run.tokens.length).toBeGreaterThan(0)
        expectNoSecrets(run)
      }
    }
  })

  it('scrubs a secret that the server echoes back in an error description', async () => {
    sim.tokenFault = {
      kind: 'status',
      status: 400,
      body: JSON.stringify({ error: 'invalid_request', error_description: `client_secret ${DEMO_CREDENTIALS.clientSecret} and password ${DEMO_CREDENTIALS.accessKeySecret} are not accepted` })
    }
    try {
      for (const json of [false, true]) {
        const run = await runCheckAgainst(sim, { json, env: { CXONE_CLIENT_AUTH: 'client_secret_post' } })
        expect(run.text).not.toContain(DEMO_CREDENTIALS.clientSecret)
        expect(run.text).not.toContain(DEMO_CREDENTIALS.accessKeySecret)
        expect(run.text).toContain('client_secret <redacted> and password <redacted> are not accepted')
        if (json) expect(() => JSON.parse(run.text) as unknown).not.toThrow()
      }
    } finally {
      sim.tokenFault = undefined
    }
  })
})
