import { ConfigProblems, findProfile, loadConfig, type Config, type Profile } from '../core/config.js'
import { ConfigError } from '../core/errors.js'
import { createTokenFetch } from '../core/http-clients.js'
import type { FetchFn } from '../token/token-client.js'
import { runCallerCheck } from './caller-check.js'
import { configErrorJudgement } from './config-step.js'
import { Output } from './render.js'
import { EXIT_CONFIG, EXIT_OK, type Report } from './report.js'
import { walkProfile, type LookupFn } from './walk.js'

export { SERVER_TIME_PATH } from './walk.js'

export interface CheckOptions {
  env: NodeJS.ProcessEnv
  configPath: string | undefined
  probe: boolean
  json: boolean
  out: (line: string) => void
  /** `--profile <name>`: diagnose that profile (issue 12); without it, the default profile. */
  profile?: string | undefined
  /** `--all`: every profile in turn, the default first. */
  all?: boolean
  /** `--route <path>`: which upstream this path would go to, and its origin (issue 11). */
  route?: string | undefined
  /** DNS lookup of a `--route`'s upstream host (default: node:dns). */
  lookup?: LookupFn
  /** `--caller <name>` (issue 22): with `--route "GET /path"`, whether that caller may make the call, and why. */
  caller?: string | undefined
  /** The network (default: the same fetch `start` uses, honouring HTTPS_PROXY). */
  fetch?: FetchFn
  now?: () => number
  cwd?: string
}

/** One profile's report, as `--profile` prints it and `--all` lists it. */
export type ProfileReport = { readonly name: string } & Report

/** `check --all --json`: every profile's report; exitCode is the worst of theirs. */
export interface AllProfilesReport {
  readonly ok: boolean
  readonly exitCode: number
  readonly profiles: readonly ProfileReport[]
}

/**
 * `cxone-auth-proxy check`: walks configuration → issuer discovery → token request → token response →
 * API discovery → one read-only API call, printing each step; on failure names the likely causes. With `--all`,
 * every profile in turn. Resolves to the exit code (0 token and API call fine, 1 a step failed, 2 configuration
 * unusable; with `--all`, the worst of the profiles'). An unknown `--profile` throws a ConfigError naming the known ones.
 */
export async function runCheck (opts: CheckOptions): Promise<number> {
  const loaded = load(opts)
  const selected = loaded instanceof ConfigProblems ? [] : select(loaded, opts)
  const out = new Output(opts.out, opts.json)
  out.header()
  if (loaded instanceof ConfigProblems) return configFailure(loaded, opts, out)
  if (opts.caller !== undefined) return runCallerCheck(selected[0] ?? loaded.profiles[0], opts.caller, opts.route, out)
  // The same network path as `start`: the platform's fetch, or undici's through HTTPS_PROXY / HTTP_PROXY.
  const net = opts.fetch === undefined ? createTokenFetch(opts.env) : { fetch: opts.fetch, close: async () => {} }
  const runs: Array<{ name: string, report: Report }> = []
  try {
    for (const profile of selected) {
      if (opts.all === true || opts.profile !== undefined) out.section(profile.name, profile.settings.port)
      const report = await walkProfile(loaded, profile, { env: opts.env, probe: opts.probe, fetch: net.fetch, now: opts.now, route: opts.route, lookup: opts.lookup }, out)
      out.tail(report)
      runs.push({ name: profile.name, report })
    }
  } finally {
    await net.close()
  }
  const exitCode = Math.max(...runs.map((r) => r.report.exitCode))
  const named: ProfileReport[] = runs.map(({ name, report }) => ({ name, ...report }))
  if (opts.all === true) {
    out.summary(named)
    out.document({ ok: exitCode === EXIT_OK, exitCode, profiles: named } satisfies AllProfilesReport)
  } else {
    out.document(opts.profile !== undefined ? named[0] : runs[0]?.report)
  }
  return exitCode
}

function load (opts: CheckOptions): Config | ConfigProblems {
  try {
    return loadConfig({ env: opts.env, configPath: opts.configPath, cwd: opts.cwd, allowMissingCredentials: true })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err instanceof ConfigProblems ? err : new ConfigProblems([err])
  }
}

function select (config: Config, opts: CheckOptions): readonly Profile[] {
  if (opts.all === true && opts.profile !== undefined) throw new ConfigError('--profile and --all cannot be used together: name one profile, or check them all')
  if (opts.all === true) return config.profiles
  if (opts.profile === undefined) return [config.profiles[0]]
  const profile = findProfile(config, opts.profile)
  if (profile === undefined) throw new ConfigError(`--profile ${opts.profile}: no such profile; the profiles are ${config.profiles.map((p) => p.name).join(', ')}`)
  return [profile]
}

/** A configuration that does not load: no profile can be checked, and nothing is sent. */
function configFailure (problems: ConfigProblems, opts: CheckOptions, out: Output): number {
  const j = configErrorJudgement(problems.problems)
  out.step(j.step)
  const report: Report = { ok: false, exitCode: EXIT_CONFIG, steps: [j.step], warnings: [], diagnosis: j.diagnosis, probe: undefined }
  out.tail(report)
  out.document(opts.all === true ? { ...report, profiles: [] } : opts.profile !== undefined ? { name: opts.profile, ...report } : report)
  return EXIT_CONFIG
}
