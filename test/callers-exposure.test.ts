import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigProblems, loadConfig } from '../src/core/config.js'

/** Issue 22: a non-loopback bind is safe without PROXY_API_KEYS when every way in is a caller's key or socket. */

const dir = mkdtempSync(join(tmpdir(), 'callers-exposure-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })
const creds = { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret', PROXY_HOST: '0.0.0.0', PROXY_CALLER_WALLBOARD_KEY: 'wallboard-key-0123456789' }
let n = 0

function codes (data: unknown, env: Record<string, string> = {}): string[] {
  const path = join(dir, `c-${++n}.json`)
  writeFileSync(path, JSON.stringify(data))
  try {
    loadConfig({ env: { ...creds, ...env }, configPath: path })
    return []
  } catch (err) {
    if (!(err instanceof ConfigProblems)) throw err
    return err.problems.map((p) => p.code)
  }
}

describe('PROXY_HOST off loopback with named callers', () => {
  it('is accepted when the profile names callers, each with a key or a socket', () => {
    expect(codes({ callers: { wallboard: {} } })).toEqual([])
    expect(codes({ callers: { wallboard: {}, board: { socket: join(dir, 'b.sock') } } })).toEqual([])
  })

  it('is still refused without callers, and in shadow mode for all callers (an unknown call would get in)', () => {
    expect(codes({})).toEqual(['config_unsafe'])
    expect(codes({ callers: { wallboard: {} } }, { PROXY_CALLERS_ENFORCE: 'false' })).toEqual(['config_unsafe'])
  })
})
