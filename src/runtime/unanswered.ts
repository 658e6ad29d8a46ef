import type { Server, ServerResponse } from 'node:http'
import { errorBody, proxyStatusHeader, type ProxyError } from '../core/errors.js'

/** How long answers to cut requests get to reach the kernel before every connection is closed. */
export const CUT_ANSWER_FLUSH_MS = 1_000

/** The responses of a server that have not finished yet, kept up to date as requests come and go. */
export function trackOpenResponses (server: Server): Set<ServerResponse> {
  const open = new Set<ServerResponse>()
  server.on('request', (_req, res: ServerResponse) => {
    open.add(res)
    // 'close' comes once per response: a plain listener (no once wrapper per request).
    res.on('close', () => { open.delete(res) })
  })
  return open
}

/**
 * Answers every open response whose head has not been sent with `err` (JSON body, Proxy-Status, Connection:
 * close) and waits, at most CUT_ANSWER_FLUSH_MS, for the answers to be written: a caller cut by a shutdown gets
 * a reason rather than a bare hang-up. Responses already under way are left to be cut.
 */
export async function answerOpenResponses (open: Iterable<ServerResponse>, err: ProxyError): Promise<number> {
  const body = JSON.stringify(errorBody(err))
  const written: Array<Promise<void>> = []
  for (const res of open) {
    if (res.headersSent || res.writableEnded || res.destroyed) continue
    res.writeHead(err.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'proxy-status': proxyStatusHeader(err),
      ...(err.retryAfterSec !== undefined ? { 'retry-after': String(err.retryAfterSec) } : {}),
      connection: 'close'
    })
    written.push(new Promise((resolve) => { res.once('finish', resolve); res.once('close', resolve) }))
    res.end(body)
  }
  let timer: NodeJS.Timeout | undefined
  await Promise.race([Promise.all(written), new Promise((resolve) => { timer = setTimeout(resolve, CUT_ANSWER_FLUSH_MS) })])
  clearTimeout(timer)
  return written.length
}
