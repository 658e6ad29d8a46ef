/**
 * The value of the first sample of `name` in Prometheus text whose labels include `labels`, or undefined when there
 * is none. The name must match whole: `cxone_proxy_cache_bytes` never reads `cxone_proxy_cache_bytes_total`.
 */
export function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && wanted.every((w) => l.includes(w)))
  return line === undefined ? undefined : Number(line.split(' ').at(-1))
}

/** The proxy's /_proxy/metrics text. */
export async function metricsText (url: string): Promise<string> {
  return await (await fetch(`${url}/_proxy/metrics`)).text()
}
