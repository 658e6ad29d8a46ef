import { randomUUID } from 'node:crypto'

/**
 * Request ids shaped as UUIDs, unique within the process and, by a random base, across processes: one random
 * UUID at start, its last 12 hex digits a counter (issue 26: a fresh randomUUID per request cost more).
 */
export function requestIds (): () => string {
  const base = randomUUID().slice(0, 24)
  let n = Number.parseInt(randomUUID().slice(24, 32), 16)
  return () => {
    n = (n + 1) % 0x1000000000000
    return base + n.toString(16).padStart(12, '0')
  }
}
