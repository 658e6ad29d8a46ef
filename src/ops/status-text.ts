import type { ProfileStatus, StatusReport } from './status.js'

function duration (sec: number): string {
  const s = Math.max(0, Math.floor(sec))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`
  if (m > 0) return `${m} min ${String(s % 60).padStart(2, '0')} s`
  return `${s} s`
}

function at (iso: string | null, now: number): string {
  if (iso === null) return '-'
  const delta = (Date.parse(iso) - now) / 1000
  return `${iso} (${delta >= 0 ? `in ${duration(delta)}` : `${duration(-delta)} ago`})`
}

function counts (obj: Record<string, number>): string {
  return Object.keys(obj).sort().map((k) => `${k} x${obj[k]}`).join(', ')
}

function profileLines (p: ProfileStatus, now: number): string[] {
  const t = p.token
  const lines = [
    `profile ${p.name}: token ${t.state}`,
    `  fingerprint     ${t.fingerprint ?? 'none held'}`,
    `  obtained at     ${at(t.obtainedAt, now)}`,
    `  expires in      ${t.expiresAt === null ? '-' : duration((Date.parse(t.expiresAt) - now) / 1000)}`,
    `  next refresh    ${at(t.nextRefreshAt, now)}`,
    `  failed attempts ${t.failures}${t.nextAttemptAt === null ? '' : `, next attempt ${at(t.nextAttemptAt, now)}`}`,
    `  last error      ${t.lastError === null ? 'none' : `${t.lastError.code} at ${at(t.lastError.at, now)}: ${t.lastError.message}`}`,
    `  issuer          ${p.upstreams.issuer}`,
    `  API origin      ${p.upstreams.api === null ? 'not known yet' : `${p.upstreams.api.origin} (${p.upstreams.api.from})`}`
  ]
  const busy = p.traffic.minutes.filter((m) => m.requests > 0 || Object.keys(m.errors).length > 0)
  const total = busy.reduce((n, m) => n + m.requests, 0)
  lines.push(`  traffic, last ${p.traffic.windowMinutes} min: ${total} request${total === 1 ? '' : 's'}${busy.length === 0 ? '' : ', by minute:'}`)
  for (const m of busy) {
    const errors = counts(m.errors)
    lines.push(`    ${m.start.slice(11, 16)}  ${String(m.requests).padStart(5)}  ${counts(m.statuses)}${errors === '' ? '' : `  errors: ${errors}`}`)
  }
  lines.push(`  last proxy errors (${p.traffic.recentErrors.length}${p.traffic.recentErrors.length > 10 ? ', newest 10 shown; --json has all' : ''}):`)
  for (const e of p.traffic.recentErrors.slice(0, 10)) {
    lines.push(`    ${e.at}  ${e.status} ${e.code}  ${e.method} ${e.path}  request id ${e.reqId}`, `      ${e.message}`)
  }
  return lines
}

function settingLines (settings: Record<string, unknown>): string[] {
  const lines = ['settings:']
  for (const [key, v] of Object.entries(settings)) {
    if (key === 'secrets') {
      for (const [name, from] of Object.entries(v as Record<string, string>)) lines.push(`  ${name.padEnd(24)} ****** (from ${from})`)
    } else if (key === 'inboundKeys') {
      lines.push(`  ${'inbound keys'.padEnd(24)} ${String(v)}, values hidden`)
    } else if (v !== null && typeof v === 'object' && 'value' in v) {
      const s = v as { value: unknown, from: string }
      lines.push(`  ${key.padEnd(24)} ${typeof s.value === 'object' ? JSON.stringify(s.value) : String(s.value)} (${s.from})`)
    } else {
      lines.push(`  ${key.padEnd(24)} ${v === null ? 'none' : String(v)}`)
    }
  }
  return lines
}

/** The status report as terminal text (`cxone-auth-proxy status`). */
export function renderStatusText (report: StatusReport): string {
  const now = Date.parse(report.now)
  return [
    `cxone-auth-proxy status at ${report.now}`,
    '',
    ...report.profiles.flatMap((p) => [...profileLines(p, now), '']),
    ...settingLines(report.settings)
  ].join('\n')
}
