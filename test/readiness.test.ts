import { afterEach, describe, expect, it } from 'vitest'
import { startStack, type Stack } from './helpers/harness.js'

describe('health and readiness', () => {
  let stack: Stack | undefined
  afterEach(async () => { await stack?.close(); stack = undefined })

  it('healthz is 200 while the process serves, whatever the token', async () => {
    stack = await startStack({ env: { CXONE_CLIENT_SECRET: 'wrong' }, waitForToken: false })
    const r = await fetch(`${stack.url}/_proxy/healthz`)
    expect(r.status).toBe(200)
    expect(await r.json()).toEqual({ status: 'ok' })
  })

  it('readyz is 200 with the token\'s remaining life while a valid token is held', async () => {
    stack = await startStack()
    const r = await fetch(`${stack.url}/_proxy/readyz`)
    expect(r.status).toBe(200)
    const body = await r.json() as { status: string, token: { expiresInSec: number } }
    expect(body.status).toBe('ready')
    expect(body.token.expiresInSec).toBeGreaterThan(3500)
  })

  it('readyz is 503 with the reason when the credentials are rejected, and probes do not hammer the token endpoint', async () => {
    stack = await startStack({ env: { CXONE_CLIENT_SECRET: 'wrong' }, waitForToken: false })
    await stack.running.proxy.provider.getToken().catch(() => undefined)
    const answers = await Promise.all(Array.from({ length: 20 }, async () => await fetch(`${stack?.url ?? ''}/_proxy/readyz`)))
    expect(answers.every((r) => r.status === 503)).toBe(true)
    const body = await answers[0]?.json() as { status: string, reason: { code: string, message: string } }
    expect(body.status).toBe('not_ready')
    expect(body.reason.code).toBe('token_rejected')
    expect(body.reason.message).toContain('invalid_client')
    expect(Number(answers[0]?.headers.get('retry-after'))).toBeGreaterThan(200)
    expect(stack.sim.tokenRequests).toBe(1)
  })

  it('readyz turns ready once the token endpoint recovers', async () => {
    stack = await startStack({ waitForToken: false })
    stack.sim.tokenFault = { kind: 'status', status: 503 }
    await stack.running.proxy.provider.getToken().catch(() => undefined)
    expect((await fetch(`${stack.url}/_proxy/readyz`)).status).toBe(503)
    stack.sim.tokenFault = undefined
    const deadline = Date.now() + 5_000
    let status = 503
    while (status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      status = (await fetch(`${stack.url}/_proxy/readyz`)).status
    }
    expect(status).toBe(200)
  })

  it('readyz is 503 when a token is held but the API origin cannot be found, and the log says why', async () => {
    stack = await startStack({ sim: { apiEndpoint: 'http://api.example.com' } })
    const r = await fetch(`${stack.url}/_proxy/readyz`)
    expect(r.status).toBe(503)
    const body = await r.json() as { reason: { code: string, message: string } }
    expect(body.reason.code).toBe('upstream_not_configured')
    expect(body.reason.message).toContain('CXONE_API_URL')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(stack.logs.entries.some((e) => e.level === 40 && String(e.msg).includes('requests cannot be forwarded'))).toBe(true)
  })
})
