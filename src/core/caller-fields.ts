import { isAbsolute } from 'node:path'
import { ConfigError } from './errors.js'

/** The fields of a caller (issue 22, callers.ts) that are more than a boolean: its share and its socket. */

export const DEFAULT_SOCKET_MODE = 0o600
/** Linux's sun_path holds 108 bytes, its NUL included. */
export const MAX_SOCKET_PATH_BYTES = 107
const RATE_EXAMPLE = '{ "perSecond": 2, "burst": 5 }'

export interface CallerRate {
  /** Upstream calls a second, refilled continuously. */
  readonly perSecond: number
  /** Calls the bucket holds at most: how many may go at once after a quiet spell. */
  readonly burst: number
}

export function readRate (value: unknown, at: string): CallerRate | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${at}: "rate" must be an object like ${RATE_EXAMPLE}`)
  const r = value as Record<string, unknown>
  const unknown = Object.keys(r).filter((k) => k !== 'perSecond' && k !== 'burst')
  if (unknown.length > 0) throw new ConfigError(`${at}: "rate" has an unknown field "${unknown[0] as string}": a rate has "perSecond" and "burst", like ${RATE_EXAMPLE}`)
  const perSecond = r.perSecond
  if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond < 0.001 || perSecond > 10_000) {
    throw new ConfigError(`${at}: "rate.perSecond" must be a number of upstream calls a second from 0.001 to 10000 (0.5: one call every 2 s), not ${JSON.stringify(perSecond) ?? 'missing'}`)
  }
  const burst = r.burst === undefined ? Math.max(1, Math.ceil(perSecond)) : wholeNumber(r.burst, `${at}: "rate.burst"`, 1, 10_000)
  return Object.freeze({ perSecond, burst })
}

export function wholeNumber (value: unknown, at: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ConfigError(`${at} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`)
  return value
}

export function readSocket (value: unknown, at: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !isAbsolute(value)) throw new ConfigError(`${at}: "socket" must be an absolute path, like "/run/cxone/wallboard.sock"`)
  if (Buffer.byteLength(value) > MAX_SOCKET_PATH_BYTES) throw new ConfigError(`${at}: "socket" ${value} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, more than a Unix socket's address holds: use a shorter path`)
  return value
}

/** An octal string ("0660"); other users' write bit is refused, as it would let every user of the machine in. */
export function readMode (value: unknown, at: string, caller: string): number {
  if (typeof value !== 'string' || !/^0?[0-7]{3}$/.test(value)) throw new ConfigError(`${at}: "socketMode" must be an octal string like "0600" or "0660", not ${JSON.stringify(value)}`)
  const mode = parseInt(value, 8)
  if ((mode & 0o002) !== 0) throw new ConfigError(`${at}: "socketMode" ${value} lets every user of this machine connect as caller "${caller}": use "0600", or "0660" and the socket folder's group`, { code: 'config_unsafe' })
  return mode
}
