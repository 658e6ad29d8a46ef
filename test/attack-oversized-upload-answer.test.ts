import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
})
