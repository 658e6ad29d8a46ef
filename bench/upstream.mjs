// The benchmark's upstream: a plain node:http server on loopback with keep-alive, answering a fixed
// ~2 KB JSON body shaped like CXone's skills/activity. Run as a child process; prints {"port":N} once listening.
import { createServer } from 'node:http'
import { pathToFileURL } from 'node:url'
import { skillActivity } from './lib/simulator.mjs'

export const API_PATH = '/inContactAPI/services/v31.0/skills/activity'
/** Same bytes, not JSON: the proxy streams it without looking (isolates the JSON/link-rewrite path). */
export const PLAIN_PATH = '/bench/plain'
/** JSON of the same size whose links point at the upstream's origin: the proxy must rewrite them. */
export const LINKS_PATH = '/bench/links'
const LAST_AUTH_PATH = '/bench/last-auth'
const FIXED_NOW = 1_700_000_000_000

function bodies (origin) {
  const skills = skillActivity(FIXED_NOW).slice(0, 5)
  const json = Buffer.from(JSON.stringify({ skillActivity: skills, lastPollTime: new Date(FIXED_NOW).toISOString() }))
  const links = Buffer.from(JSON.stringify({
    skillActivity: skills.slice(0, 4),
    _links: {
      self: `${origin}${API_PATH}?top=4`,
      next: `${origin}${API_PATH}?top=4&skip=4`,
      skill: `${origin}/inContactAPI/services/v31.0/skills/4001`
    }
  }))
  return { json, links }
}

function main () {
  let last = ''
  let payload
  const server = createServer((req, res) => {
    const path = req.url.split('?', 1)[0]
    if (path !== LAST_AUTH_PATH) last = req.headers.authorization ?? ''
    if (path === API_PATH || path === PLAIN_PATH || path === LINKS_PATH) {
      const body = path === LINKS_PATH ? payload.links : payload.json
      res.writeHead(200, {
        'content-type': path === PLAIN_PATH ? 'application/octet-stream' : 'application/json; charset=utf-8',
        'content-length': body.length
      })
      res.end(body)
    } else if (path === LAST_AUTH_PATH) {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end(last)
    } else {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end('{"error":"not_found"}')
    }
  })
  // Longer than any pause between rounds, so pooled connections survive (nginx and undici reuse them).
  server.keepAliveTimeout = 120_000
  server.headersTimeout = 121_000
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address()
    payload = bodies(`http://127.0.0.1:${port}`)
    process.stdout.write(`${JSON.stringify({ port, bytes: payload.json.length, linksBytes: payload.links.length })}\n`)
  })
  process.on('SIGTERM', () => { server.close(); server.closeAllConnections(); process.exit(0) })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main()
