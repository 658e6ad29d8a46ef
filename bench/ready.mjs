// `node bench/ready.mjs [starts]`: only the proxy's time to ready (spawn → /_proxy/readyz 200, token held from the
// simulator on loopback) and its idle anonymous RSS, median of `starts` (default 7) starts. `npm run bench` times
// the same next to the baselines.
import { proxyStarts } from './lib/startup.mjs'
import { startTokenSource, startUpstream } from './lib/targets.mjs'
import { median } from './lib/report.mjs'

const starts = Number(process.argv[2] ?? 7)
const upstream = await startUpstream()
const tokens = await startTokenSource()
try {
  const runs = await proxyStarts({ issuer: tokens.issuer, apiOrigin: upstream.origin }, starts)
  for (const [key, values] of Object.entries(runs)) console.log(`${key}: median ${median(values).toFixed(1)} (${values.map((v) => v.toFixed(0)).join(', ')})`)
} finally {
  await tokens.stop()
  await upstream.stop()
}
