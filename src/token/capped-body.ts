/**
 * Reading the token endpoint's and discovery's answers with a size cap. A token answer or a discovery document is
 * a few KB; issue 17 saw a 400 MB token answer peak the proxy at 1.5 GB and be accepted.
 */

/** The largest token or discovery answer the proxy reads (CXone's are under 4 KiB). */
export const MAX_AUTH_ANSWER_BYTES = 64 * 1024

/** The answer passed `limit` bytes (declared or read): it was abandoned, not read to the end. */
export class AnswerTooLargeError extends Error {
  constructor (readonly limit: number) {
    super(`the answer is larger than ${limit / 1024} KiB`)
    this.name = 'AnswerTooLargeError'
  }
}

/**
 * The body as UTF-8 text (as `Response.text()` decodes it), read as a stream and cancelled as soon as it
 * passes `limit` bytes, so an oversized answer costs at most `limit` plus one chunk of memory.
 */
export async function readTextCapped (res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '')
  if (Number.isFinite(declared) && declared > limit) {
    res.body?.cancel().catch(() => { /* the connection is dropped either way */ })
    throw new AnswerTooLargeError(limit)
  }
  if (res.body === null) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limit) {
      reader.cancel().catch(() => { /* the connection is dropped either way */ })
      throw new AnswerTooLargeError(limit)
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}
