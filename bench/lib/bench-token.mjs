// The fixed bearer the baselines set (the proxy's comes from the simulator). Its own module so that the
// reference proxies load nothing of the bench or of dist/ that would count in their memory.
export const BENCH_TOKEN = 'bench-fixed-token-0123456789abcdef'
