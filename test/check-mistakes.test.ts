import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator, DEMO_CREDENTIALS, DEMO_TENANT_TWO } from '../src/simulator/simulator.js'
import { expectNoSecrets, runCheckAgainst } from './helpers/check.js'

/**
 * The mistakes people really make (issue 25), each with the cause `check` must name first. Every row runs `check`
 * against the simulator, as a user would, and reads the printed text.
 */

const D = DEMO_CREDENTIALS

interface Mistake {
  readonly name: string
  /** Environment overrides of the simulator's (undefined removes a variable). */
  readonly env: (sim: CxoneSimulator, other: CxoneSimulator) => Record<string, string | undefined>
  /** The first cause's code; undefined when check must pass. */
  readonly first: string | undefined
  /** What the text must also say (the cause, a warning, the probe run that settles it). */
  readonly says?: RegExp
  readonly probe?: boolean
}

const MISTAKES: readonly Mistake[] = [
  {
    name: 'CXONE_TOKEN_URL ending in /oauth2/token (the forum path): a JSON 404 with an error field',
    env: (sim) => ({ CXONE_TOKEN_URL: `${sim.origin}/oauth2/token` }),
    first: 'not_a_token_endpoint',
    says: /CXone's token path is \/auth\/token/
  },
  {
    name: 'CXONE_TOKEN_URL ending in /oauth/token',
    env: (sim) => ({ CXONE_TOKEN_URL: `${sim.origin}/oauth/token` }),
    first: 'not_a_token_endpoint'
  },
  {
    name: 'CXONE_TOKEN_URL set to an API path: a JSON 401 invalid_token (a resource server\'s answer)',
    env: (sim) => ({ CXONE_TOKEN_URL: `${sim.origin}/inContactAPI/services/v25.0/server-time` }),
    first: 'not_a_token_endpoint',
    says: /an API path/
  },
  {
    name: 'the access-key pair given as the client id and secret',
    env: () => ({ CXONE_CLIENT_ID: D.accessKeyId, CXONE_CLIENT_SECRET: D.accessKeySecret }),
    first: 'credentials_misplaced',
    says: /CXONE_CLIENT_ID looks like an access key id .* CXONE_CLIENT_SECRET looks like an access key secret/
  },
  {
    name: 'the client pair and the access-key pair swapped',
    env: () => ({ CXONE_CLIENT_ID: D.accessKeyId, CXONE_CLIENT_SECRET: D.accessKeySecret, CXONE_ACCESS_KEY_ID: D.clientId, CXONE_ACCESS_KEY_SECRET: D.clientSecret }),
    first: 'credentials_misplaced',
    says: /swapped/
  },
  {
    name: 'the client id in CXONE_ACCESS_KEY_ID (the client is accepted, the grant is not)',
    env: () => ({ CXONE_ACCESS_KEY_ID: D.clientId }),
    first: 'credentials_misplaced',
    says: /CXONE_ACCESS_KEY_ID looks like a client id \(a UUID\)/
  },
  {
    name: 'a client id with a trailing space',
    env: () => ({ CXONE_CLIENT_ID: `${D.clientId} ` }),
    first: 'credential_whitespace',
    says: /CXONE_CLIENT_ID ends with whitespace/
  },
  {
    name: 'a wrong client secret with characters the two Basic encodings differ on: the probe run that settles it',
    env: () => ({ CXONE_CLIENT_SECRET: 'Wrong+Secret/0123456789abcdef' }),
    first: 'basic_encoding_mismatch',
    says: /to settle it: run `cxone-auth-proxy check --probe`/
  },
  {
    name: 'client_credentials with an access key also set: the key is ignored',
    env: () => ({ CXONE_GRANT_TYPE: 'client_credentials' }),
    first: undefined,
    says: /\[warn\] CXONE_GRANT_TYPE=client_credentials: CXONE_ACCESS_KEY_ID and CXONE_ACCESS_KEY_SECRET are set but ignored/
  },
  {
    name: 'the issuer of another tenant or region',
    env: (_sim, other) => ({ CXONE_ISSUER: other.issuer }),
    first: 'wrong_client_credentials',
    says: /fix: compare .*; if they are right, http:\/\/127\.0\.0\.1:\d+ may be another tenant's or cloud's issuer, which does not know the app: set CXONE_ISSUER/
  },
  {
    name: 'port 1 (a port fetch never connects to)',
    env: () => ({ CXONE_ISSUER: 'http://127.0.0.1:1' }),
    first: 'port_blocked',
    says: /^ {2}1\. \[port_blocked\] port 1 of CXONE_ISSUER \(http:\/\/127\.0\.0\.1:1\) is a port fetch never connects to[^\n]*$/m
  }
]

const firstCause = (text: string): string | undefined => /^ {2}1\. \[([a-z_]+)\]/m.exec(text)?.[1]

describe('check on the mistakes people really make', () => {
  let sim: CxoneSimulator
  let other: CxoneSimulator
  beforeAll(async () => {
    sim = await new CxoneSimulator().start()
    other = await new CxoneSimulator({ credentials: DEMO_TENANT_TWO.credentials, tenantId: DEMO_TENANT_TWO.tenantId }).start()
  })
  afterAll(async () => { await Promise.all([sim.stop(), other.stop()]) })

  it.each(MISTAKES)('$name', async (m) => {
    const run = await runCheckAgainst(sim, { env: m.env(sim, other), probe: m.probe })
    expect(firstCause(run.text), run.text).toBe(m.first)
    expect(run.code).toBe(m.first === undefined ? 0 : 1)
    if (m.says !== undefined) expect(run.text).toMatch(m.says)
    expectNoSecrets(run)
  })

  it('a wrong token URL is no OAuth answer: --probe sends no variant', async () => {
    const before = sim.tokenRequests
    const run = await runCheckAgainst(sim, { env: { CXONE_TOKEN_URL: `${sim.origin}/oauth2/token` }, probe: true })
    expect(firstCause(run.text)).toBe('not_a_token_endpoint')
    expect(run.text).toContain('no conclusion: the token endpoint gave no OAuth answer')
    expect(sim.tokenRequests).toBe(before)
  })
})
