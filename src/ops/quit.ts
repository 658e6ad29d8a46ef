import type { FastifyInstance } from 'fastify'
import { ProxyError } from '../core/errors.js'
import { isLoopbackHost } from '../core/net.js'

export const QUIT_PATH = '/_proxy/quitquitquit'

export interface QuitSignal {
  /** Resolves with the reason once a caller has asked the proxy to stop. */
  requested: Promise<string>
  request: (reason: string) => void
}

export function quitSignal (): QuitSignal {
  let request: (reason: string) => void = () => {}
  const requested = new Promise<string>((resolve) => { request = resolve })
  return { requested, request: (reason) => { request(reason) } }
}

export interface QuitOptions {
  signal: QuitSignal
  graceMs: number
}

/**
 * POST /_proxy/quitquitquit: a job that is done stops its sidecar (the name Envoy and Cloud SQL Auth Proxy use).
 * Registered on the main listener only; inbound keys are enforced by the access guard before this runs.
 */
export async function quitRoute (app: FastifyInstance, opts: QuitOptions): Promise<void> {
  app.post(QUIT_PATH, async (request, reply) => {
    // The socket's address, never a header: X-Forwarded-For or Host can be written by anyone.
    const remote = request.socket.remoteAddress ?? 'an unknown address'
    if (!isLoopbackHost(remote)) {
      throw new ProxyError('forbidden_caller', `POST ${QUIT_PATH} came from ${remote}, not from this machine: only a loopback caller may stop the proxy; run \`cxone-auth-proxy shutdown\` next to it`)
    }
    // The drain starts once this answer is out, so the caller always reads it.
    reply.raw.once('close', () => { opts.signal.request(`POST ${QUIT_PATH}`) })
    reply.code(202)
    return { status: 'shutting_down', graceMs: opts.graceMs }
  })
}
