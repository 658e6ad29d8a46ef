#!/usr/bin/env node
/**
 * The process entry, and the only module that owns the process: it runs a command, handles the signals of a
 * running proxy and sets the exit code. Everything below it takes its I/O as arguments.
 */
import { constants } from 'node:os'
import type { RunningProxy } from './runtime/server.js'

/** How long after every profile holds its token the one start-up collection runs (the proxy is idle then). */
const SETTLE_AFTER_READY_MS = 500

const { runCli, REPEAT_SIGNAL_WINDOW_MS, PARENT_POLL_MS } = await import('./runtime/cli.js')

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (line) => { process.stdout.write(`${line}\n`) },
  stderr: (line) => { process.stderr.write(`${line}\n`) },
  serving
})
if (code !== undefined) process.exitCode = code

/**
 * One full garbage collection once every profile holds its token: loading the bundle, the code cache and the first
 * token exchange leave ~5-10 MB of garbage that V8 would keep as the idle sidecar's memory for minutes (issue 26:
 * idle anonymous RSS in every pod). `gc` is there when node runs with --expose-gc, as the bin, the npm scripts and
 * the image start it (scripts/node-flags.mjs); without it nothing happens. Not v8.setFlagsFromString('--expose-gc'):
 * changing V8's flags at run time cost ~20 µs of CPU per request afterwards (an A/B with bench/compare.mjs).
 */
function settleHeapWhenReady (running: RunningProxy): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (typeof gc !== 'function') return
  const tokens = running.proxy.profiles.map(async (p) => await p.provider.getToken())
  void Promise.allSettled(tokens).then(() => { setTimeout(gc, SETTLE_AFTER_READY_MS).unref() })
}

/** Exit 0 once a drain is done, 1 if the drain itself failed. */
function drainThenExit (running: RunningProxy, reason: string): void {
  running.shutdown(reason).then(() => process.exit(0), () => process.exit(1))
}

/**
 * A server's process. The signal listeners are installed before anything listens: a signal sent once the start-up
 * line was logged but before they existed killed the proxy without a drain (SIGTERM) or opened Node's inspector on
 * 127.0.0.1:9229, code execution for any local process (SIGUSR1) (issue 25). Such an early signal is acted on once
 * the proxy runs; a second stop signal before then (a start-up that hangs) stops at once.
 */
function serving (): (running: RunningProxy) => void {
  let handle: ((signal: NodeJS.Signals) => void) | undefined
  const early: NodeJS.Signals[] = []
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', ...(process.platform === 'win32' ? [] : ['SIGUSR1' as const])]
  const before = (signal: NodeJS.Signals): void => {
    if ((signal === 'SIGTERM' || signal === 'SIGINT') && early.some((s) => s === 'SIGTERM' || s === 'SIGINT')) process.exit(128 + (constants.signals[signal] ?? 0))
    early.push(signal)
  }
  for (const signal of signals) process.on(signal, () => { if (handle === undefined) before(signal); else handle(signal) })
  return (running) => {
    settleHeapWhenReady(running)
    handle = signalHandler(running)
    for (const signal of early.splice(0)) handle(signal)
    void running.quitRequested.then((reason) => { drainThenExit(running, reason) })
    if (process.env.npm_lifecycle_event !== undefined) exitWithParent(running)
  }
}

/**
 * SIGTERM/SIGINT drain and exit 0; a second one during the drain (after REPEAT_SIGNAL_WINDOW_MS) stops at once
 * (waiting callers get 503 shutting_down) and exits 128 + the signal's number, as a shell reports a kill. SIGHUP
 * reloads the configuration and the secret files; SIGUSR1 is logged and ignored. POST /_proxy/quitquitquit is the
 * same drain as SIGTERM.
 */
function signalHandler (running: RunningProxy): (signal: NodeJS.Signals) => void {
  const log = running.proxy.logger
  let drainingSince: number | undefined
  let stopping = false
  const onStop = (signal: NodeJS.Signals): void => {
    if (drainingSince === undefined) {
      drainingSince = performance.now()
      drainThenExit(running, signal)
      return
    }
    if (performance.now() - drainingSince < REPEAT_SIGNAL_WINDOW_MS) return
    const code = 128 + (constants.signals[signal] ?? 0)
    if (stopping) process.exit(code)
    stopping = true
    log.warn({ signal, exitCode: code }, `${signal} received during the drain: stopping now`)
    running.stopNow(signal).finally(() => process.exit(code))
  }
  return (signal) => {
    if (signal === 'SIGHUP') {
      running.reload('SIGHUP').catch((err: unknown) => { log.warn({ err }, 'reload after SIGHUP failed') })
    } else if (signal === 'SIGUSR1') {
      log.warn({ signal: 'SIGUSR1' }, 'SIGUSR1 received: the inspector stays closed (start node with --inspect to debug); ignoring')
    } else {
      onStop(signal)
    }
  }
}

/**
 * Under `npm start` / `npm run demo` the proxy is a grandchild of npm (npm → sh -c → node), and a SIGTERM to npm
 * alone does not reach it (issue 16): so stop as on SIGTERM once the parent goes away (process.ppid changes).
 */
function exitWithParent (running: RunningProxy): void {
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    drainThenExit(running, 'parent exited')
  }, PARENT_POLL_MS)
  timer.unref()
}
