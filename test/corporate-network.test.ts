import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { makeCerts, type Certs } from './helpers/certs.js'
import { startCli } from './helpers/cli.js'
import { startForwardProxy, type ForwardProxy } from './helpers/forward-proxy.js'
import { API, simulatorEnv } from './helpers/harness.js'

describe('corporate networks: outbound proxy and a private CA', () => {
  let certs: Certs
  let api: Server
  let apiUrl: string
  let sim: CxoneSimulator
  let forward: ForwardProxy
  beforeAll(async () => {
    certs = makeCerts()
    sim = await new CxoneSimulator().start()
    // The API behind TLS with a certificate from a private CA; it relays to the simulator's API.
    api = createServer({ key: certs.key, cert: certs.cert }, (req, res) => {
      fetch(`${sim.origin}${req.url ?? ''}`, { headers: { authorization: req.headers.authorization ?? '' } })
        .then(async (r) => { res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }); res.end(await r.text()) })
        .catch(() => { res.writeHead(502); res.end() })
    })
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
    apiUrl = `https://127.0.0.1:${(api.address() as AddressInfo).port}`
    forward = await startForwardProxy()
  })
  afterAll(async () => {
    await forward.close()
    api.closeAllConnections()
    await new Promise<void>((resolve) => api.close(() => { resolve() }))
    await sim.stop()
  })

  async function call (env: NodeJS.ProcessEnv): Promise<{ status: number, body: string }> {
    const proxy = startCli(['start'], simulatorEnv(sim, { CXONE_API_URL: apiUrl, ...env }))
    try {
      const { url } = JSON.parse(await proxy.waitFor(/listening on/)) as { url: string }
      await proxy.waitFor(/token obtained/)
      const r = await fetch(`${url}${API}/server-time`)
      return { status: r.status, body: await r.text() }
    } finally {
      await proxy.stop()
    }
  }

  it('trusts the API\'s certificate through NODE_EXTRA_CA_CERTS', async () => {
    const r = await call({ NODE_EXTRA_CA_CERTS: certs.caFile })
    expect(r.status).toBe(200)
    expect(r.body).toContain('ServerTime')
  })

  it('without the CA, the same API is refused as tls_certificate_error', async () => {
    const r = await call({})
    expect(r.status).toBe(502)
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'tls_certificate_error' } })
  })

  it('sends the token request and the API call through HTTP_PROXY / HTTPS_PROXY', async () => {
    forward.seen.length = 0
    const r = await call({ NODE_EXTRA_CA_CERTS: certs.caFile, HTTPS_PROXY: forward.url, HTTP_PROXY: forward.url })
    expect(r.status).toBe(200)
    // undici tunnels plain http through CONNECT too.
    expect(forward.seen).toContain(`CONNECT ${new URL(apiUrl).host}`)
    expect(forward.seen).toContain(`CONNECT ${new URL(sim.origin).host}`)
  })

  it('NO_PROXY keeps listed hosts direct', async () => {
    forward.seen.length = 0
    const r = await call({ NODE_EXTRA_CA_CERTS: certs.caFile, HTTPS_PROXY: forward.url, HTTP_PROXY: forward.url, NO_PROXY: '127.0.0.1' })
    expect(r.status).toBe(200)
    expect(forward.seen).toEqual([])
  })
})
