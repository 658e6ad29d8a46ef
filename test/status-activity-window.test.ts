import { describe, expect, it } from 'vitest'
import { Activity, MAX_ERRORS, WINDOW_MINUTES } from '../src/ops/activity.js'

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0)
const MIN = 60_000

function failure (n: number): { reqId: string, method: string, path: string, status: number, code: string, message: string } {
  return { reqId: `req-${n}`, method: 'GET', path: '/inContactAPI/services/v31.0/skills/activity', status: 502, code: 'destination_unavailable', message: 'the CXone API could not be reached' }
}

describe('the status page\'s activity window', () => {
  it('counts requests by status and proxy errors by code per minute, oldest minute first, empty minutes as zeros', () => {
    let now = T0 + 5_000
    const a = new Activity(() => now)
    a.request(200)
    a.request(200)
    a.request(502)
    a.error(failure(1))
    now = T0 + 2 * MIN + 1
    a.request(401)
    a.error({ ...failure(2), status: 401, code: 'proxy_auth_required', message: 'this proxy needs a key' })
    const snap = a.snapshot()
    expect(snap.windowMinutes).toBe(WINDOW_MINUTES)
    expect(snap.minutes).toHaveLength(15)
    expect(snap.minutes[0]).toEqual({ start: T0 - 12 * MIN, requests: 0, statuses: {}, errors: {} })
    expect(snap.minutes.slice(-3)).toEqual([
      { start: T0, requests: 3, statuses: { 200: 2, 502: 1 }, errors: { destination_unavailable: 1 } },
      { start: T0 + MIN, requests: 0, statuses: {}, errors: {} },
      { start: T0 + 2 * MIN, requests: 1, statuses: { 401: 1 }, errors: { proxy_auth_required: 1 } }
    ])
    expect(snap.recentErrors).toEqual([
      { at: T0 + 2 * MIN + 1, reqId: 'req-2', method: 'GET', path: '/inContactAPI/services/v31.0/skills/activity', status: 401, code: 'proxy_auth_required', message: 'this proxy needs a key' },
      { at: T0 + 5_000, ...failure(1) }
    ])
  })

  it('forgets minutes older than the window, even when their ring slot is reused', () => {
    let now = T0
    const a = new Activity(() => now)
    a.request(200)
    now = T0 + WINDOW_MINUTES * MIN
    expect(a.snapshot().minutes.every((m) => m.requests === 0)).toBe(true)
    a.request(503)
    const minutes = a.snapshot().minutes
    expect(minutes.at(-1)).toEqual({ start: T0 + WINDOW_MINUTES * MIN, requests: 1, statuses: { 503: 1 }, errors: {} })
    expect(minutes.reduce((n, m) => n + m.requests, 0)).toBe(1)
  })

  it('keeps the newest 50 errors, and bounds what a caller can put in one', () => {
    const a = new Activity(() => T0)
    for (let i = 1; i <= MAX_ERRORS + 20; i++) a.error(failure(i))
    a.error({ ...failure(999), path: `/${'p'.repeat(5000)}`, message: 'm'.repeat(5000) })
    const errors = a.snapshot().recentErrors
    expect(errors).toHaveLength(MAX_ERRORS)
    expect(errors[0]?.reqId).toBe('req-999')
    expect(errors[0]?.path).toHaveLength(200)
    expect(errors[0]?.message).toHaveLength(500)
    expect(errors[1]?.reqId).toBe(`req-${MAX_ERRORS + 20}`)
    expect(errors.at(-1)?.reqId).toBe('req-22')
  })
})
