import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { runCheck } from '../../src/check/check.js'
import type { CxoneSimulator } from '../../src/simulator/simulator.js'
import { basicAuthorization, formEncode } from '../../src/token/client-auth.js'
import type { FetchFn } from '../../src/token/token-client.js'
import { simulatorEnv } from './harness.js'

export interface CheckRun {
  code: number
  text: string
  env: NodeJS.ProcessEnv
  /** Every token the token endpoint issued during the run (access, refresh, id). */
  tokens: string[]
  /** URLs fetched, in order. */
  fetched: string[]
}

export interface CheckRunOptions {
  /** Overrides of the simulator env; `undefined` removes a variable. */
  env?: Record<string, string | undefined>
  probe?: boolean
  json?: boolean
  /** `--route <path>`. */
  route?: string
  /** DNS lookup of a `--route`'s upstream host (tests never ask a real resolver). */
  lookup?: (host: string) => Promise<unknown>
  /** Wraps the recording fetch (to inject network failures). */
  fetch?: (real: FetchFn) => FetchFn
}

/** An empty directory, so no proxy.config.json is read. */
export const NO_CONFIG_DIR = mkdtempSync(join(tmpdir(), 'check-'))

/** Runs `check` in-process against a simulator, recording the output and every token issued. */
export async function runCheckAgainst (sim: CxoneSimulator, opts: CheckRunOptions = {}): Promise<CheckRun> {
  const env = simulatorEnv(sim)
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  const tokens: string[] = []
  const fetched: string[] = []
  const recording: FetchFn = async (url, init) => {
    fetched.push(url)
    const res = await globalThis.fetch(url, init)
    if (new URL(url).pathname === '/auth/token') {
      const body = await res.clone().text()
      try {
        const json = JSON.parse(body) as Record<string, unknown>
        for (const k of ['access_token', 'refresh_token', 'id_token']) if (typeof json[k] === 'string') tokens.push(json[k])
      } catch { /* not a token answer */ }
    }
    return res
  }
  const lines: string[] = []
  const code = await runCheck({
    env,
    configPath: undefined,
    cwd: NO_CONFIG_DIR,
    probe: opts.probe === true,
    json: opts.json === true,
    route: opts.route,
    lookup: opts.lookup ?? (async (host) => { throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }) }),
    out: (line) => { lines.push(line) },
    fetch: opts.fetch !== undefined ? opts.fetch(recording) : recording
  })
  return { code, text: lines.join('\n'), env, tokens, fetched }
}

/** Every form a secret of this run could be printed in: values, form-encoded, inside Basic headers, tokens. */
export function secretForms (run: Pick<CheckRun, 'env' | 'tokens'>): string[] {
  const env = run.env
  const id = env.CXONE_CLIENT_ID ?? ''
  const forms: string[] = [id, ...run.tokens]
  for (const name of ['CXONE_CLIENT_SECRET', 'CXONE_ACCESS_KEY_SECRET', 'CXONE_ACCESS_KEY_ID']) {
    const v = env[name]
    if (v !== undefined && v !== '') forms.push(v, formEncode(v), encodeURIComponent(v))
  }
  const secret = env.CXONE_CLIENT_SECRET
  if (secret !== undefined) {
    for (const enc of ['rfc6749', 'raw'] as const) forms.push(basicAuthorization(id, secret, enc).slice('Basic '.length))
  }
  return forms.filter((f) => f !== '')
}

/** The output holds no secret, token or id in full, and the scrubber never had to step in. */
export function expectNoSecrets (run: CheckRun): void {
  for (const form of secretForms(run)) expect(run.text, `leaked ${form.slice(0, 3)}…`).not.toContain(form)
  expect(run.text).not.toContain('<redacted>')
}
