import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LINGER_MAX_BYTES } from '../src/core/linger.js'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'
import { runProcess } from './helpers/run-process.js'

const MIB = 1024 * 1024
/** Enough runs that the old 2-in-8 loss (EPIPE before the 413 was read) shows. */
const RUNS = 12

/**
 * A client that writes the whole body before it reads a byte of the answer, and gives up on a write error (as
 * simple HTTP clients and scripts do): the hardest caller for an early refusal. Each run prints the status, the
 * Connection header and the error message, or where it failed. Raw sockets: Python's requests reads the answer
 * after a broken pipe itself, and would hide the loss.
 */
const CLIENT = `
import json, socket, sys
host, port, path, runs, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
body = b'\\0' * size
out = []
for _ in range(runs):
    s = socket.create_connection((host, port), timeout=60)
    sent = 0
    try:
        s.sendall(('POST %s HTTP/1.1\\r\\nHost: %s:%d\\r\\nContent-Type: application/octet-stream\\r\\nContent-Length: %d\\r\\n\\r\\n' % (path, host, port, size)).encode())
        view = memoryview(body)
        while sent < size:
            sent += s.send(view[sent:sent + 1048576])
    except OSError as e:
        out.append({'writeFailed': type(e).__name__, 'afterMiB': sent // 1048576})
        s.close()
        continue
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, text = data.partition(b'\\r\\n\\r\\n')
    lines = head.decode().split('\\r\\n')
    headers = dict((k.lower(), v.strip()) for k, _, v in (l.partition(':') for l in lines[1:]))
    out.append({'status': int(lines[0].split()[1]), 'connection': headers.get('connection'), 'message': json.loads(text)['error']['message']})
print(json.dumps(out))
`

describe('attack: a 64 MiB upload over the body limit, from a client that writes it all before reading', () => {
  let api: Upstream
  let stack: Stack
  beforeAll(async () => {
    const s = await startApiStack(undefined, { PROXY_MAX_BODY_BYTES: '100000' })
    stack = s
    api = s.api
  })
  afterAll(async () => { await stack.close() })

  it(`reads the 413 naming PROXY_MAX_BODY_BYTES, with Connection: close, in each of ${RUNS} runs`, async () => {
    const { hostname, port } = new URL(stack.url)
    const r = await runProcess('python3', ['-c', CLIENT, hostname, port, `${API}/upload`, String(RUNS), String(64 * MIB)], {}, 170_000)
    expect(r.stderr).toBe('')
    const expected = { status: 413, connection: 'close', message: 'the request body is larger than 100000 bytes (PROXY_MAX_BODY_BYTES)' }
    expect(JSON.parse(r.stdout)).toEqual(Array.from({ length: RUNS }, () => expected))
    expect(api.seen).toHaveLength(0)
  }, 180_000)

  /** Writes `head` then `bytes` of zeros (as fast as the socket takes them) and `tail`; reports what came back. */
  async function send (head: string, bytes: number, tail = ''): Promise<{ written: number, failed: boolean, answer: string }> {
    const { hostname, port } = new URL(stack.url)
    // Half-open: it goes on writing after the answer and FIN, as a client that reads only at the end does.
    const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true })
    let answer = ''
    let failed = false
    socket.on('data', (d: Buffer) => { answer += d.toString('latin1') })
    const closed = new Promise<void>((resolve) => { socket.on('close', () => { resolve() }) })
    socket.on('error', () => { failed = true })
    socket.write(head)
    const piece = Buffer.alloc(MIB)
    let written = 0
    while (written < bytes && !failed && !socket.destroyed) {
      const n = Math.min(MIB, bytes - written)
      if (!socket.write(n === MIB ? piece : piece.subarray(0, n))) await new Promise((resolve) => { socket.once('drain', resolve); socket.once('close', resolve) })
      written += n
    }
    if (!socket.destroyed) socket.end(tail)
    await closed
    return { written, failed, answer }
  }

  it('never reads what follows the refused body as another request', async () => {
    const size = 200_000
    const next = `GET ${API}/agents/states HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`
    const r = await send(`POST ${API}/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${size}\r\n\r\n`, size, next)
    expect(r.answer.match(/^HTTP\/1\.1 \d{3}/gm)).toEqual(['HTTP/1.1 413'])
    expect(api.seen).toHaveLength(0)
  })

  it(`stops reading a refused upload after LINGER_MAX_BYTES (${LINGER_MAX_BYTES / MIB} MiB): the rest is cut`, async () => {
    const size = LINGER_MAX_BYTES + 64 * MIB
    const r = await send(`POST ${API}/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${size}\r\n\r\n`, size)
    expect(r.answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(r.failed).toBe(true)
    expect(r.written).toBeLessThan(size)
  }, 60_000)
})
