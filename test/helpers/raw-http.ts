import { connect } from 'node:net'

export interface RawAnswer { status: number, headers: Record<string, string>, body: string, raw: string }

/** Sends bytes as written over a TCP socket: for targets no well-behaved client would send. */
export async function rawRequest (origin: string, head: string, timeoutMs = 5_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(origin)
  return await new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    let data = ''
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer; got: ${data}`)) }, timeoutMs)
    socket.on('data', (d: Buffer) => { data += d.toString('latin1') })
    socket.on('error', () => { /* a reset ends the exchange; judge what arrived */ })
    socket.on('close', () => {
      clearTimeout(timer)
      const [headPart = '', ...rest] = data.split('\r\n\r\n')
      const lines = headPart.split('\r\n')
      const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0)
      const headers: Record<string, string> = {}
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':')
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim()
      }
      resolve({ status, headers, body: rest.join('\r\n\r\n'), raw: data })
    })
    socket.write(head.includes('\r\nConnection:') ? head : head.replace(/\r\n\r\n$/, '\r\nConnection: close\r\n\r\n'))
  })
}
