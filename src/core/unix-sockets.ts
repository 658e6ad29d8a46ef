import type { Socket } from 'node:net'

/**
 * Which Unix socket a connection came in on (issue 22): the listener that accepts it tags it (runtime/sockets.ts),
 * the request path reads the tag to recognise a caller bound to its own socket. A WeakMap, so the tag goes with the
 * connection and nothing a client sends can set it.
 */
const arrivedOn = new WeakMap<Socket, string>()

export function tagUnixSocket (socket: Socket, path: string): void {
  arrivedOn.set(socket, path)
}

/** The socket path a connection came in on; undefined for a TCP connection. */
export function unixSocketOf (socket: Socket | undefined | null): string | undefined {
  return socket === undefined || socket === null ? undefined : arrivedOn.get(socket)
}

/**
 * The base URL of links rewritten for a caller on a Unix socket: `http://<Host as sent>`, `http://localhost` without
 * one. curl (`--unix-socket`), httpx (`uds=`) and undici (`socketPath`) send every URL through the socket, whatever its
 * host, so they follow such links; all three send `localhost`, and so does requests-unixsocket (0.3), which reaches a
 * socket only by an `http+unix://` URL: a script using it maps `http://localhost` back to its socket URL itself.
 * PROXY_PUBLIC_URL is the TCP listener's origin, not the socket's, and is not used for a socket caller.
 */
export function unixBaseUrl (host: string | undefined): string {
  return `http://${host === undefined || host === '' ? 'localhost' : host}`
}
