import type { Socket } from 'node:net'

/** Bytes of a refused upload still read (and dropped) after the answer, at most (nginx reads without a bound). */
export const LINGER_MAX_BYTES = 128 * 1024 * 1024
/** How long the reading goes on at most (nginx's lingering_time). */
export const LINGER_MAX_MS = 30_000
/** How long it waits for the next byte (nginx's lingering_timeout). */
export const LINGER_IDLE_MS = 5_000

/**
 * An answer given while the upload is still arriving (413, a body timeout) is followed by a lingering close, as
 * nginx does: Node would destroy the socket right after the answer, the caller's next write would meet a reset,
 * and a caller that writes its whole body before reading (most scripts) would never read the answer (issue 24).
 * So the answer goes out with FIN, the rest of the body is read and dropped — never parsed as another request —
 * until the caller stops sending or hangs up, or a bound above is reached; then the socket is destroyed.
 */
export function lingerOnClose (socket: Socket): void {
  // Node's HTTP server calls destroySoon() once a Connection: close answer is written.
  socket.destroySoon = () => { linger(socket) }
}

function linger (socket: Socket): void {
  if (socket.destroyed) return
  // The HTTP parser lets go of the socket (as Node's own upgrade path does), so what follows is read here as the
  // refused body, never parsed as another request. Without it (another runtime), the parser reads and drops it.
  const parser = (socket as Socket & { parser?: { unconsume?: () => void } }).parser
  if (typeof parser?.unconsume !== 'function') { lingerWithParser(socket); return }
  let bytes = 0
  const stop = (): void => {
    clearTimeout(total)
    clearTimeout(idle)
    socket.destroy()
  }
  const total = setTimeout(stop, LINGER_MAX_MS)
  const idle = setTimeout(stop, LINGER_IDLE_MS)
  total.unref()
  idle.unref()
  parser.unconsume()
  // With the parser go the server's listeners that pause the socket for it (its write backpressure).
  for (const event of ['data', 'pause', 'resume']) socket.removeAllListeners(event)
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length
    if (bytes > LINGER_MAX_BYTES) stop()
    else idle.refresh()
  })
  socket.once('end', stop)
  socket.once('close', stop)
  socket.end()
  socket.resume()
  // The parser may have stopped the handle for backpressure; start it again as Node's own resume does.
  const handle = (socket as Socket & { _handle?: { reading?: boolean, readStart?: () => number } | null })._handle
  if (handle?.readStart !== undefined && handle.reading !== true) {
    handle.reading = true
    handle.readStart()
  }
}

/** The fallback: the parser keeps reading (Node drops a refused request's body); only the time bound applies. */
function lingerWithParser (socket: Socket): void {
  const total = setTimeout(() => { socket.destroy() }, LINGER_MAX_MS)
  total.unref()
  socket.once('close', () => { clearTimeout(total) })
  socket.end()
}
