import type { FastifyInstance } from 'fastify'
import type { Discovery } from '../token/discovery.js'
import type { TokenProvider } from '../token/token-provider.js'
import type { Activity, ActivitySnapshot, ErrorEntry, MinuteCounts, MinuteQuota } from './activity.js'
import type { CallerRow } from './caller-activity.js'
import { STATUS_CSS } from './status-page.js'
import { renderStatusPage } from './status-html.js'
import { STATUS_JS } from './status-script.js'

/** One profile (business unit: `default`, then each of `profiles`) and what it talks to. */
export interface ProfileSource {
  name: string
  provider: TokenProvider
  issuer: string
  /** The API origin requests go to now; undefined while it is not known yet. */
  apiOrigin: () => { origin: string, from: 'configured' | 'discovered' } | undefined
  activity: Activity
  /** Every upstream of the routing table with its origin, or why it is not known (as readiness lists them). */
  routed: () => Record<string, unknown>
  /** issue 22: a row per named caller; undefined for a profile without callers. */
  callers?: (() => CallerRow[] | undefined) | undefined
}

export interface StatusOptions {
  profiles: () => readonly ProfileSource[]
  /** The effective settings as the start-up line prints them: secrets are never values, only where they came from. */
  settings: () => Record<string, unknown>
  now: () => number
}

export type TokenState = 'valid' | 'fetching' | 'failing'

export interface ProfileStatus {
  name: string
  token: {
    state: TokenState
    fingerprint: string | null
    obtainedAt: string | null
    expiresAt: string | null
    expiresInSec: number | null
    nextRefreshAt: string | null
    failures: number
    nextAttemptAt: string | null
    lastError: { code: string, message: string, at: string | null } | null
  }
  upstreams: { issuer: string, api: { origin: string, from: 'configured' | 'discovered' } | null }
  /** Every upstream of the profile's routing table with its origin, or why it is not known. */
  routedUpstreams: Record<string, unknown>
  traffic: {
    windowMinutes: number
    minutes: Array<Omit<MinuteCounts, 'start'> & { start: string }>
    /** The same minutes: calls to CXone, and calls spared (coalesced, cache, shielded). */
    quota: Array<Omit<MinuteQuota, 'start'> & { start: string }>
    recentErrors: Array<Omit<ErrorEntry, 'at'> & { at: string }>
  }
  /** issue 22: a row per named caller (`_unidentified`: calls no caller was recognised in); absent without callers. */
  callers?: Array<Omit<CallerRow, 'lastSeen'> & { lastSeen: string | null }>
}

export interface StatusReport {
  service: 'cxone-auth-proxy'
  now: string
  profiles: ProfileStatus[]
  settings: Record<string, unknown>
}

const iso = (ms: number | undefined): string | null => ms === undefined ? null : new Date(ms).toISOString()

/** The status page's data: pure reads of the token layer and the activity log, no secret anywhere. */
function statusReport (opts: StatusOptions): StatusReport {
  const now = opts.now()
  return {
    service: 'cxone-auth-proxy',
    now: new Date(now).toISOString(),
    profiles: opts.profiles().map((p) => profileStatus(p, now)),
    settings: opts.settings()
  }
}

function profileStatus (p: ProfileSource, now: number): ProfileStatus {
  const t = p.provider.status()
  const state: TokenState = t.ready ? 'valid' : t.lastError !== undefined ? 'failing' : 'fetching'
  return {
    name: p.name,
    token: {
      state,
      fingerprint: t.fingerprint ?? null,
      obtainedAt: iso(t.obtainedAt),
      expiresAt: iso(t.expiresAt),
      expiresInSec: t.expiresInSec === undefined ? null : Math.floor(t.expiresInSec),
      nextRefreshAt: iso(t.refreshAt),
      failures: t.failures,
      nextAttemptAt: t.nextAttemptInSec === undefined ? null : iso(now + t.nextAttemptInSec * 1000),
      lastError: t.lastError === undefined ? null : { code: t.lastError.code, message: t.lastError.message, at: iso(t.lastErrorAt) }
    },
    upstreams: { issuer: p.issuer, api: p.apiOrigin() ?? null },
    routedUpstreams: p.routed(),
    traffic: traffic(p.activity.snapshot()),
    ...callerRows(p)
  }
}

function callerRows (p: ProfileSource): Pick<ProfileStatus, 'callers'> {
  const rows = p.callers?.()
  return rows === undefined ? {} : { callers: rows.map((r) => ({ ...r, lastSeen: r.lastSeen === null ? null : new Date(r.lastSeen).toISOString() })) }
}

function traffic (a: ActivitySnapshot): ProfileStatus['traffic'] {
  return {
    windowMinutes: a.windowMinutes,
    minutes: a.minutes.map((m) => ({ ...m, start: new Date(m.start).toISOString() })),
    quota: a.quota.map((q) => ({ ...q, start: new Date(q.start).toISOString() })),
    recentErrors: a.recentErrors.map((e) => ({ ...e, at: new Date(e.at).toISOString() }))
  }
}

// The page loads nothing from elsewhere and runs no inline code: it works offline and an injected string
// in an error message can never run.
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** GET /_proxy/ (the page), /_proxy/status.json (its data), /_proxy/status.js and /_proxy/status.css. */
export async function statusRoutes (app: FastifyInstance, opts: StatusOptions): Promise<void> {
  // Encapsulated: applies to these four routes only.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
  })
  app.get('/_proxy/', async (_request, reply) => {
    reply.header('content-security-policy', PAGE_CSP)
    reply.header('x-frame-options', 'DENY')
    reply.type('text/html; charset=utf-8')
    return renderStatusPage(statusReport(opts))
  })
  app.get('/_proxy', async (_request, reply) => reply.redirect('/_proxy/', 301))
  app.get('/_proxy/status.json', async () => statusReport(opts))
  app.get('/_proxy/status.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(STATUS_JS))
  app.get('/_proxy/status.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(STATUS_CSS))
}

/** One profile's sources: its token layer, its own activity and its routing table's upstreams. */
export function statusProfile (name: string, provider: TokenProvider, discovery: Discovery, activity: Activity, apiUrlConfigured: boolean, routed: () => Record<string, unknown> = () => ({})): ProfileSource {
  return {
    name,
    routed,
    provider,
    issuer: discovery.issuer,
    apiOrigin: () => {
      const origin = discovery.knownApiOrigin(provider.current()?.tenantId)
      return origin === undefined ? undefined : { origin, from: apiUrlConfigured ? 'configured' : 'discovered' }
    },
    activity
  }
}
