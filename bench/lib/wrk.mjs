// Runs wrk and parses its --latency report.
import { execFile } from 'node:child_process'
import { adopt } from './procs.mjs'

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 }

function toMs (text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text)
  if (m === null) throw new Error(`wrk: cannot read the latency "${text}"`)
  return Number(m[1]) * UNIT_MS[m[2]]
}

/** Parses wrk's text report: requests/s, request count, latency percentiles, errors. */
export function parseWrk (text) {
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(text)
    return m === null ? NaN : toMs(m[1])
  }
  const rps = Number(/^Requests\/sec:\s+([\d.]+)/m.exec(text)?.[1] ?? NaN)
  const requests = Number(/^\s+(\d+) requests in /m.exec(text)?.[1] ?? NaN)
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)
  const socketErrors = sock === null ? 0 : sock.slice(1).reduce((a, b) => a + Number(b), 0)
  if (!Number.isFinite(rps) || !Number.isFinite(requests)) throw new Error(`wrk: unexpected output:\n${text}`)
  return { rps, requests, p50: pct(50), p75: pct(75), p90: pct(90), p99: pct(99), non2xx, socketErrors }
}

/** One wrk run; rejects if it does not end within its duration plus 30 s. */
export async function runWrk ({ url, threads, connections, seconds, wrk = 'wrk' }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s', url]
  return await new Promise((resolve, reject) => {
    const child = execFile(wrk, args, { timeout: (seconds + 30) * 1000, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err !== null) { reject(new Error(`wrk ${args.join(' ')} failed: ${err.message}\n${stderr}`)); return }
      try { resolve(parseWrk(stdout)) } catch (e) { reject(e) }
    })
    adopt('wrk', child)
  })
}
