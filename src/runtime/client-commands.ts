import { QUIT_PATH } from '../ops/quit.js'
import { renderStatusText } from '../ops/status-text.js'
import type { StatusReport } from '../ops/status.js'
import { callLocalProxy, explainFailure, localProxy, type LocalProxyOptions } from './local-proxy.js'

export interface ClientCommandOptions extends LocalProxyOptions {
  json: boolean
  out: (line: string) => void
  err: (line: string) => void
}

/** Exit codes of `shutdown` and `status`: 3 says nothing listens (for a script: already stopped). */
export const EXIT_REFUSED = 1
export const EXIT_NOT_LISTENING = 3

/** `cxone-auth-proxy shutdown`: POST /_proxy/quitquitquit on this machine's proxy. */
export async function runShutdown (opts: ClientCommandOptions): Promise<number> {
  const proxy = localProxy(opts)
  const result = await callLocalProxy(proxy, 'POST', QUIT_PATH)
  if (result.kind === 'answer' && result.status === 202) {
    const graceMs = (result.body as { graceMs?: number } | undefined)?.graceMs
    opts.out(`cxone-auth-proxy at ${proxy.origin} is shutting down: requests in flight may finish for up to ${String(graceMs)} ms, then it exits`)
    return 0
  }
  opts.err(`cxone-auth-proxy: ${explainFailure(proxy, result, 'shutdown')}`)
  return result.kind === 'not_listening' ? EXIT_NOT_LISTENING : EXIT_REFUSED
}

/** `cxone-auth-proxy status [--json]`: the status page's data in a terminal. */
export async function runStatus (opts: ClientCommandOptions): Promise<number> {
  const proxy = localProxy(opts)
  const result = await callLocalProxy(proxy, 'GET', '/_proxy/status.json')
  if (result.kind === 'answer' && result.status === 200 && (result.body as StatusReport | undefined)?.service === 'cxone-auth-proxy') {
    opts.out(opts.json ? JSON.stringify(result.body, null, 2) : renderStatusText(result.body as StatusReport))
    return 0
  }
  opts.err(`cxone-auth-proxy: ${explainFailure(proxy, result, 'status')}`)
  return result.kind === 'not_listening' ? EXIT_NOT_LISTENING : EXIT_REFUSED
}
