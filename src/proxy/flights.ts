/**
 * What the forwarding path does with sharing's decisions (src/quota/sharing.ts): a micro-cache hit is delivered
 * from memory; a flight's leader has its response read whole and handed to every member (or, too large to share,
 * streamed to itself while the others make their own calls); each member delivers the flight's outcome as its own
 * response.
 */
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Outcome, WholeResponse } from '../quota/coalesce.js'
import type { Share, Shared, Sharing } from '../quota/sharing.js'
import { isEventStream } from '../quota/vary.js'
import type { Journey, RequestContext } from './journey.js'
import { bodiless, drain, type Responder } from './respond.js'
import { EMPTY, readWhole, type UpstreamAnswer } from './upstream-call.js'
import { mapBrokenResponse } from './upstream-errors.js'

interface FlightsOptions {
  sharing: Sharing<RequestContext>
  responder: Responder
  /** A member sent on to make its own call: the flight's response was too large to share. */
  alone: (request: FastifyRequest, reply: FastifyReply, journey: Journey) => void
  onCoalesced?: (() => void) | undefined
}

export class Flights {
  readonly #o: FlightsOptions

  constructor (o: FlightsOptions) {
    this.#o = o
  }

  /** A flight joined or led: its outcome, when it comes, is this member's response. */
  readonly await = (request: FastifyRequest, reply: FastifyReply, journey: Journey, share: Share<RequestContext>): void => {
    share.member.outcome.then((outcome) => { this.#settled(request, reply, journey, share, outcome) }, () => {})
  }

  /** CXone's response (after any replay): a flight's leader shares it, any other request delivers it. */
  readonly arrived = (request: FastifyRequest, reply: FastifyReply, journey: Journey, ctx: RequestContext, res: UpstreamAnswer): void => {
    if (journey.share !== undefined) this.#collect(request, reply, journey, journey.share, ctx, res)
    else this.#o.responder.respond(request, reply, ctx, { statusCode: res.statusCode, headers: res.headers, stream: res.body, whole: res.whole, bodyError: res.bodyError }, undefined)
  }

  /** An error for the caller, and for every member of its flight. */
  readonly failed = (_request: FastifyRequest, reply: FastifyReply, journey: Journey, err: Error): void => {
    if (journey.share !== undefined) this.#o.sharing.end(journey.share, { kind: 'error', error: err })
    else reply.send(err)
  }

  /** A micro-cache hit (the pipeline set its context), with its Age and Cache-Status. */
  serveHit (request: FastifyRequest, reply: FastifyReply, response: WholeResponse, extra: Record<string, string>): void {
    this.#deliver(request, reply, response, extra)
  }

  /** The leader's response: read whole and given to every member (and to the cache), or, too large, streamed to it. */
  #collect (request: FastifyRequest, reply: FastifyReply, journey: Journey, share: Share<RequestContext>, ctx: RequestContext, res: UpstreamAnswer): void {
    const { sharing } = this.#o
    // A flight's call is never collected by the upstream call itself (send.ts): its body is a stream.
    const body = res.body ?? Readable.from(res.whole !== undefined && res.whole.length > 0 ? [res.whole] : [])
    if (bodiless(request.method, res.statusCode)) {
      drain(body)
      this.#share(share, ctx, res, EMPTY)
      return
    }
    // A stream of events is never shared: it reaches the leader as it comes (read whole, it would arrive at its end).
    if (isEventStream(res.headers['content-type'])) {
      this.#streamAlone(request, reply, journey, share, ctx, res, body)
      return
    }
    sharing.collect(body, Number(res.headers['content-length'] ?? -1), (c) => {
      switch (c.kind) {
        case 'broken':
          // Nothing was sent yet: every member gets a clean 502, never a short body presented as complete.
          sharing.end(share, { kind: 'error', error: mapBrokenResponse(c.error, ctx.origin, res.statusCode) })
          return
        case 'rest':
          this.#streamAlone(request, reply, journey, share, ctx, res, c.rest)
          return
        case 'whole':
          this.#share(share, ctx, res, c.body)
      }
    })
  }

  /** Not to be shared: the others make their own calls; the leader keeps its place while it streams. */
  #streamAlone (request: FastifyRequest, reply: FastifyReply, journey: Journey, share: Share<RequestContext>, ctx: RequestContext, res: UpstreamAnswer, rest: Readable): void {
    const { sharing } = this.#o
    const here = journey.caller.aborted !== true
    if (here) journey.keepPlace()
    sharing.end(share, { kind: 'alone' }, share.member)
    if (here) this.#o.responder.respond(request, reply, ctx, { statusCode: res.statusCode, headers: res.headers, stream: rest }, sharing.missHeaders(share, false))
    else rest.destroy()
  }

  #share (share: Share<RequestContext>, ctx: RequestContext, res: UpstreamAnswer, body: Buffer): void {
    const response: WholeResponse = { statusCode: res.statusCode, headers: res.headers, body, source: { origin: ctx.origin, hosts: ctx.hosts } }
    this.#o.sharing.share(share, response, ctx, ctx.token.tenantId)
  }

  /** How a flight's end reaches one of its members. */
  #settled (request: FastifyRequest, reply: FastifyReply, journey: Journey, share: Share<RequestContext>, outcome: Outcome<Shared<RequestContext>>): void {
    if (outcome.kind === 'alone') {
      journey.share = undefined
      this.#o.alone(request, reply, journey)
      return
    }
    if (!share.leads) this.#o.onCoalesced?.()
    if (outcome.kind === 'error') {
      reply.send(outcome.error)
      return
    }
    const { response, ctx, stored, overrode } = outcome.response
    if (!share.leads) {
      journey.ctx = { ...ctx, body: undefined, upstreamMs: undefined, caller: journey.caller }
      journey.spared = 'coalesced'
    }
    this.#deliver(request, reply, this.#o.sharing.forMember(share, response), this.#o.sharing.missHeaders(share, stored, overrode))
  }

  #deliver (request: FastifyRequest, reply: FastifyReply, response: WholeResponse, extra: Record<string, string> | undefined): void {
    // What respond.ts would read whole from a stream goes to it whole; the rest (compressed, not JSON) as a stream.
    if (!bodiless(request.method, response.statusCode) && readWhole(response.headers)) {
      this.#o.responder.respond(request, reply, response.source, { statusCode: response.statusCode, headers: response.headers, stream: undefined, whole: response.body }, extra)
      return
    }
    const stream = Readable.from(response.body.length > 0 ? [response.body] : [])
    this.#o.responder.respond(request, reply, response.source, { statusCode: response.statusCode, headers: response.headers, stream }, extra)
  }
}
