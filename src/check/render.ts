import { scrub } from './mask.js'
import { label, type Detail, type ProbeReport, type Report, type Step } from './report.js'

/** Text and JSON output of `check`. Every line passes through `scrub`, a last line of defence against a secret. */

const MARK = { ok: '[ok]  ', fail: '[FAIL]', skip: '[skip]', info: '[sent]' } as const
const INDENT = '       '
const LABELS: Readonly<Record<string, string>> = {
  tokenEndpoint: 'token_endpoint',
  apiEndpoint: 'api_endpoint',
  lifetimeSec: 'lifetime (s)',
  tenantId: 'tenant',
  configFile: 'config file',
  contentType: 'content-type',
  clientAuth: 'client auth',
  basicEncoding: 'Basic encoding',
  grantType: 'grant'
}

function labelOf (key: string): string {
  return LABELS[key] ?? key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()
}

function isRecord (d: Detail): d is { [key: string]: Detail } {
  return typeof d === 'object' && d !== null && !Array.isArray(d)
}

function detailLines (details: Readonly<Record<string, Detail>>, indent: string): string[] {
  const keys = Object.keys(details)
  const width = Math.max(0, ...keys.filter((k) => !isRecord(details[k] as Detail)).map((k) => labelOf(k).length))
  const lines: string[] = []
  for (const key of keys) {
    const value = details[key] as Detail
    if (isRecord(value)) {
      lines.push(`${indent}${labelOf(key)}:`)
      const w = Math.max(...Object.keys(value).map((k) => k.length))
      for (const [k, v] of Object.entries(value)) lines.push(`${indent}  ${k.padEnd(w)}  ${flat(v)}`)
    } else {
      lines.push(`${indent}${`${labelOf(key)}:`.padEnd(width + 2)}${flat(value)}`)
    }
  }
  return lines
}

function flat (d: Detail): string {
  if (d === null) return '(none)'
  if (Array.isArray(d)) return d.map(flat).join(', ')
  if (isRecord(d)) return Object.values(d).filter((v) => v !== null).map(flat).join(': ')
  return String(d)
}

export function stepLines (s: Step): string[] {
  return [`${MARK[s.status]} ${s.name}: ${s.summary}`, ...detailLines(s.details, INDENT)]
}

export function warningLines (w: string): string[] {
  return [`[warn] ${w}`]
}

function probeLines (p: ProbeReport): string[] {
  const width = Math.max(...p.attempts.map((a) => label(a).length))
  const lines = ['', 'probe (each client authentication variant at most once):']
  for (const a of p.attempts) {
    const verdict = a.outcome === 'accepted' ? '  → accepted' : a.outcome === 'client_accepted' ? '  → client accepted' : a.outcome === 'client_rejected' ? '  → rejected' : ''
    lines.push(`  ${label(a).padEnd(width)}  ${a.configured ? '(configured) ' : ''}${a.answer}${verdict}`)
  }
  lines.push(`  ${p.conclusion}`)
  return lines
}

/** What follows the steps: diagnosis, probe, the result, and last of all the setting to use. */
export function tailLines (r: Report): string[] {
  const lines: string[] = []
  if (r.diagnosis !== undefined) {
    lines.push('', `likely causes of "${r.diagnosis.problem}", most likely first:`)
    r.diagnosis.causes.forEach((c, i) => {
      lines.push(`  ${i + 1}. [${c.code}] ${c.cause}`, `     fix: ${c.fix}`)
    })
    if (r.diagnosis.settle !== undefined) lines.push(`  to settle it: ${r.diagnosis.settle}`)
  }
  if (r.probe !== undefined) lines.push(...probeLines(r.probe))
  lines.push('')
  lines.push(r.ok
    ? 'result: OK: a token was obtained and the API answered; `cxone-auth-proxy start` will work with this configuration'
    : `result: FAILED (exit ${r.exitCode}): ${r.diagnosis?.problem ?? 'see the steps above'}`)
  if (r.probe !== undefined) {
    lines.push(r.probe.use !== undefined
      ? `use: ${Object.entries(r.probe.use).map(([k, v]) => `${k}=${v}`).join(' ')}${r.probe.attempts.some((a) => a.configured && (a.outcome === 'accepted' || a.outcome === 'client_accepted')) ? ' (as configured)' : ''}`
      : 'use: no client authentication setting found (see the causes above)')
  }
  return lines
}

/** After `--all`: each profile's outcome, then the overall result (the worst exit code). */
export function summaryLines (reports: ReadonlyArray<{ name: string } & Report>): string[] {
  const width = Math.max(...reports.map((r) => r.name.length))
  const failed = reports.filter((r) => !r.ok)
  const exitCode = Math.max(...reports.map((r) => r.exitCode))
  return [
    '', '== all profiles ==',
    ...reports.map((r) => `  ${r.name.padEnd(width)}  ${r.ok ? 'OK' : `FAILED (exit ${r.exitCode}): ${r.diagnosis?.problem ?? 'see its steps above'}`}`),
    '',
    failed.length === 0
      ? `result: OK: all ${reports.length} profiles obtained a token and the API answered`
      : `result: FAILED (exit ${exitCode}): ${failed.length} of ${reports.length} profiles failed (${failed.map((r) => r.name).join(', ')})`
  ]
}

/** Prints steps as they finish (text) or one document at the end (`--json`), scrubbed either way. */
export class Output {
  readonly #out: (line: string) => void
  readonly #json: boolean
  #forms: string[] = []

  constructor (out: (line: string) => void, json: boolean) {
    this.#out = out
    this.#json = json
  }

  /** Adds strings that must never be printed (secrets, tokens, their encoded forms). */
  hide (forms: readonly string[]): void {
    this.#forms = [...new Set([...this.#forms, ...forms])].sort((a, b) => b.length - a.length)
  }

  step (s: Step): void {
    if (!this.#json) this.#print(stepLines(s))
  }

  warning (w: string): void {
    if (!this.#json) this.#print(warningLines(w))
  }

  header (): void {
    if (!this.#json) this.#print(['cxone-auth-proxy check: the token call, step by step (secrets shown only as length and sha256 prefix)', ''])
  }

  finish (r: Report): void {
    this.tail(r)
    this.document(r)
  }

  /** Text: what follows a profile's steps. */
  tail (r: Report): void {
    if (!this.#json) this.#print(tailLines(r))
  }

  /** Text: the title of a profile's steps (`--profile`, `--all`). */
  section (name: string, port: number): void {
    if (!this.#json) this.#print([`== profile ${name} (port ${port}) ==`, ''])
  }

  /** Text: one line per profile and the overall result (`--all`). */
  summary (reports: ReadonlyArray<{ name: string } & Report>): void {
    if (!this.#json) this.#print(summaryLines(reports))
  }

  /** `--json`: the one document printed, at the end. */
  document (doc: unknown): void {
    if (this.#json) this.#out(scrub(JSON.stringify(doc, null, 2), this.#forms.map((f) => JSON.stringify(f).slice(1, -1))))
  }

  #print (lines: string[]): void {
    this.#out(scrub(lines.join('\n'), this.#forms))
  }
}
