import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AppDeps } from '../../src/runtime/compose.js'
import { startStack, type Stack } from './harness.js'
import { startUpstream, echo, type Handler, type Upstream } from './upstream.js'

/** Keys of the callers the caller tests configure (test values, never real secrets). */
export const KEYS = { wallboard: 'wallboard-key-0123456789', agent: 'agent-key-0123456789abc', export: 'export-key-0123456789ab' }

export interface CallerStack {
  stack: Stack
  api: Upstream
  dir: string
  url: string
  close: () => Promise<void>
}

/**
 * The proxy with a config file naming `callers` (and the rest of `file`), against a loopback API answering with
 * `handler`; the wallboard's key by variable, the agent's and the export job's by file.
 */
export async function startCallers (file: Record<string, unknown>, o: { handler?: Handler, env?: Record<string, string>, deps?: Omit<AppDeps, 'logger'>, sockets?: (dir: string) => Record<string, string> } = {}): Promise<CallerStack> {
  const dir = mkdtempSync(join(tmpdir(), 'callers-'))
  const config = join(dir, 'proxy.config.json')
  // Placeholders in the file become paths in the test's folder (a caller's socket).
  let text = JSON.stringify(file)
  for (const [k, v] of Object.entries(o.sockets?.(dir) ?? {})) text = text.replaceAll(k, v)
  writeFileSync(config, text)
  writeFileSync(join(dir, 'agent.key'), `${KEYS.agent}\n`)
  writeFileSync(join(dir, 'export.key'), `${KEYS.export}\n`)
  const api = await startUpstream(o.handler ?? echo)
  const env = { CXONE_API_URL: api.url, PROXY_CONFIG: config, PROXY_CALLER_WALLBOARD_KEY: KEYS.wallboard, PROXY_CALLER_AGENT_KEY_FILE: join(dir, 'agent.key'), PROXY_CALLER_EXPORT_KEY_FILE: join(dir, 'export.key'), ...o.env }
  const stack = await startStack({ env, deps: o.deps })
  return {
    stack,
    api,
    dir,
    url: stack.url,
    close: async () => {
      await stack.close()
      await api.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** The request lines logged, as objects. */
export function requestLines (s: CallerStack): Array<Record<string, unknown>> {
  return s.stack.logs.entries.filter((e) => e.msg === 'request')
}
