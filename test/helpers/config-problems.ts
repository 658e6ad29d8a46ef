import { expect } from 'vitest'
import { ConfigProblems } from '../../src/core/config.js'
import { ConfigError } from '../../src/core/errors.js'

/** The problems of a load that must fail, each message and code. */
export function problems (fn: () => unknown): Array<{ message: string, code: string }> {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    const list = err instanceof ConfigProblems ? err.problems : [err as ConfigError]
    return list.map((p) => ({ message: p.message, code: p.code }))
  }
  throw new Error('expected a ConfigError')
}
