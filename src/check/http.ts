import { ProxyError } from '../core/errors.js'
import { sendTokenRequest, type FetchFn, type TokenRequest } from '../token/token-client.js'

/** What one HTTP exchange produced: an answer of any kind, or a network failure. */
export type Observation =
  | { kind: 'answer', status: number, contentType: string, text: string, location: string | null, retryAfter: string | null }
  | { kind: 'network', error: unknown }

/** GET without following redirects (a bearer never travels to another address), bounded by a timeout. */
export async function observeGet (fetchFn: FetchFn, url: string, headers: Record<string, string>, timeoutMs: number): Promise<Observation> {
  try {
    const res = await fetchFn(url, { method: 'GET', headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
    const text = await res.text()
    return {
      kind: 'answer',
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      text,
      location: res.headers.get('location'),
      retryAfter: res.headers.get('retry-after')
    }
  } catch (err) {
    return { kind: 'network', error: err }
  }
}

/** Sends the token request exactly as `start` does (sendTokenRequest), keeping a network failure's cause. */
export async function observeToken (fetchFn: FetchFn, req: TokenRequest, timeoutMs: number): Promise<Observation> {
  try {
    const raw = await sendTokenRequest(req, fetchFn, timeoutMs)
    return { kind: 'answer', status: raw.status, contentType: raw.contentType, text: raw.text, location: null, retryAfter: raw.retryAfter }
  } catch (err) {
    if (err instanceof ProxyError && err.cause !== undefined) return { kind: 'network', error: err.cause }
    return { kind: 'network', error: err }
  }
}
