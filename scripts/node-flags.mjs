// The V8 flags the proxy runs with (issue 26; docs/performance.md "Memory"): a 4 MB young generation instead of
// V8's 16 MB semi-spaces (peak RSS under wrk -t2 -c50: about 60 MB instead of 100), at no measurable CPU per request. Also
// in dist/main.js's shebang (scripts/launcher.cjs), package.json's scripts and the Dockerfile, where nothing can
// import this file; test/one-file.test.ts keeps them the same.
// --expose-gc: main.ts runs one full collection once the tokens are held (idle RSS about 38 MB instead of 42).
export const NODE_FLAGS = ['--max-semi-space-size=4', '--expose-gc']
/** glibc's malloc arenas: 2 instead of 8 per core. Read by glibc at process start, so set in the environment. */
export const MALLOC_ENV = { MALLOC_ARENA_MAX: '2' }
