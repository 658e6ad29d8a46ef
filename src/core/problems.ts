import { ConfigError } from './errors.js'

/** Every problem found in one load, so one run names them all (issue 16): each keeps its own wording. */
export class ConfigProblems extends ConfigError {
  readonly problems: readonly ConfigError[]
  constructor (problems: readonly ConfigError[]) {
    super(problems.length === 1
      ? (problems[0] as ConfigError).message
      : `${problems.length} problems in the configuration:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`, { code: problems[0]?.code ?? 'config_invalid_value' })
    this.problems = problems
  }
}

/** Runs `fn`; a ConfigError becomes one more problem instead of stopping the load. */
export function collect<T> (problems: ConfigError[], fn: () => T): T | undefined {
  try {
    return fn()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    problems.push(...(err instanceof ConfigProblems ? err.problems : [err]))
    return undefined
  }
}
