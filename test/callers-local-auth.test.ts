import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API } from './helpers/harness.js'
import { KEYS, requestLines, startCallers, type CallerStack } from './helpers/callers.js'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

const token = async (s: CallerStack, body: string): Promise<{ status: number, body: Record<string, unknown> }> => {
  const res = await fetch(`${s.url}/auth/token`, { method: 'POST', headers: FORM, body })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

describe('the local token endpoint identifies a named caller by its name and key (issues 22 and 23)', () => {
  let s: CallerStack
  beforeAll(async () => { s = await startCallers({ callers: { wallboard: {}, agent: { readOnly: true } } }, { env: { PROXY_LOCAL_AUTH: 'true' } }) })
  afterAll(async () => { await s.close() })

  it('a placeholder got with the agent\'s name and key carries the agent: its policy, on its requests', async () => {
    const got = await token(s, `grant_type=password&username=agent&password=${KEYS.agent}`)
    expect(got.status).toBe(200)
    const bearer = { authorization: `Bearer ${got.body.access_token as string}` }
    const read = await fetch(`${s.url}${API}/teams`, { headers: bearer })
    expect(read.status).toBe(200)
    await read.arrayBuffer()
    const write = await fetch(`${s.url}${API}/teams`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: '{}' })
    expect(write.status).toBe(403)
    expect(((await write.json()) as { error: { code: string } }).error.code).toBe('caller_forbidden')
    expect(requestLines(s).filter((l) => String(l.path).startsWith(API)).map((l) => l.caller)).toEqual(['agent', 'agent'])
  })

  it('client_credentials with the caller\'s name and key; a wrong key or an unknown name is refused in CXone\'s shapes', async () => {
    expect((await token(s, `grant_type=client_credentials&client_id=wallboard&client_secret=${KEYS.wallboard}`)).status).toBe(200)
    expect(await token(s, `grant_type=client_credentials&client_id=wallboard&client_secret=${KEYS.agent}`)).toEqual({ status: 401, body: { error: 'invalid_client', error_description: 'Bad client credentials' } })
    expect(await token(s, `grant_type=password&username=nobody&password=${KEYS.agent}`)).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid access key' } })
  })
})
