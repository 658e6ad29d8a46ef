import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  rawHeaders: string[]
  body: Buffer
}

export interface Upstream {
  url: string
  seen: Seen[]
  server: Server
  close: () => Promise<void>
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer, n: number) => void

/** A plain loopback HTTP server standing in for the CXone API; records every request it receives. */
export async function startUpstream (handler: Handler = echo): Promise<Upstream> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body })
      handler(req, res, body, seen.length)
    })
  })
  server.keepAliveTimeout = 2_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    server,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

/** Answers with what it received, as JSON. */
export const echo: Handler = (req, res, body) => {
  const text = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyLength: body.length })
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** Answers `{"done":true}` after the `ms` query parameter's milliseconds: an API that holds its answer. */
export const heldForMs: Handler = (req, res) => {
  const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0)
  setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"done":true}') }, ms)
}
