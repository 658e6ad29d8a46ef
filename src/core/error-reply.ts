/**
 * How every listener answers with an error, and what it logs and counts: the policy comes from the errors
 * table (status, Proxy-Status type, log level, rejection, default Retry-After), nothing about it lives elsewhere.
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ERRORS, ProxyError, errorBody, proxyStatusHeader, type ErrorSpec } from './errors.js'
import { innermostCode, isBrokenResponse } from './net-errors.js'

export interface AnswerHooks {
  /** A refusal by the proxy (the table's `rejection`), for the rejected-requests metric. */
  rejected?: (code: string) => void
  /** Every error answered, for the status page's error list. */
  answered?: (err: ProxyError, request: FastifyRequest) => void
}

function spec (err: ProxyError): ErrorSpec {
  return ERRORS[err.code]
}

/** Removes what an upstream answer put on the reply, keeping the proxy's own CORS and request-id headers. */
export function clearUpstreamHeaders (reply: Pick<FastifyReply, 'getHeaders' | 'removeHeader'>): void {
  for (const name of Object.keys(reply.getHeaders())) {
    if (name === 'x-request-id' || name === 'vary' || name.startsWith('access-control-')) continue
    reply.removeHeader(name)
  }
}

/** Answers `err` as `{"error":{code,message}}` with Proxy-Status and Retry-After; logs and counts it per the table. */
export function sendError (err: ProxyError, request: FastifyRequest, reply: FastifyReply, hooks: AnswerHooks = {}): void {
  const policy = spec(err)
  if (policy.log === 'error') request.log.error({ err: err.cause ?? err, reqId: request.id }, err.message)
  else if (policy.log === 'warn') request.log.warn({ code: err.code, reqId: request.id, cause: err.networkCode ?? innermostCode(err.cause) }, err.message)
  if (policy.rejection) hooks.rejected?.(err.code)
  hooks.answered?.(err, request)
  if (reply.sent || reply.raw.headersSent) {
    // The answer already started: break it rather than present a short body as complete.
    reply.raw.destroy(err)
    return
  }
  clearUpstreamHeaders(reply)
  reply.code(err.status)
  reply.header('x-request-id', request.id)
  reply.header('proxy-status', proxyStatusHeader(err))
  reply.header('content-type', 'application/json; charset=utf-8')
  // A body still arriving (an upload refused midway) would hold the connection open: close it.
  if (!request.raw.complete) reply.header('connection', 'close')
  const retryAfter = err.retryAfterSec ?? policy.retryAfterSec
  if (retryAfter !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))))
  reply.send(errorBody(err))
}

/** Any error a listener meets, as a row of the table: Fastify's own, a broken upstream stream, or a bug. */
export function toProxyError (err: FastifyError | ProxyError | Error, request: FastifyRequest): ProxyError {
  if (err instanceof ProxyError) return err
  const code = (err as FastifyError).code
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ProxyError('payload_too_large', `the request body is larger than ${request.routeOptions.bodyLimit ?? ''} bytes (PROXY_MAX_BODY_BYTES)`)
  const status = (err as FastifyError).statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    return new ProxyError('bad_request', `the request is malformed (${err.message}): ${ERRORS.bad_request.remedy}`, { cause: err })
  }
  if (isBrokenResponse(err)) {
    return new ProxyError('upstream_invalid_response', `the CXone API's answer broke off or could not be decoded (${innermostCode(err) ?? err.message})`, { cause: err })
  }
  return new ProxyError('internal_error', `unexpected error; see the proxy log for request id ${request.id}`, { cause: err })
}

/** Node answers some errors before Fastify sees a request (431, 408, 400): same JSON shape and Proxy-Status. */
export function clientErrorHandler (err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) {
    socket.destroy()
    return
  }
  const pe = err.code === 'HPE_HEADER_OVERFLOW'
    ? new ProxyError('request_header_fields_too_large', 'the request headers are larger than the proxy accepts (PROXY_MAX_HEADER_BYTES)')
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new ProxyError('request_timeout', 'the request did not arrive in time (PROXY_HEADERS_TIMEOUT_MS)')
      : new ProxyError('bad_request', 'the request is not valid HTTP/1.1')
  writeRawError(socket, pe)
}

/** Writes an error answer straight to a socket, for answers given before Fastify has a request. */
export function writeRawError (socket: Socket, pe: ProxyError): void {
  const body = JSON.stringify(errorBody(pe))
  socket.end(`HTTP/1.1 ${pe.status} ${STATUS_CODES[pe.status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nProxy-Status: ${proxyStatusHeader(pe)}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}
