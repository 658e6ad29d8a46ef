// wrk and nginx: found on PATH (or /usr/sbin), installed from Debian's packages when missing and run as root.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

function which (name) {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin']) {
    if (dir !== '' && existsSync(`${dir}/${name}`)) return `${dir}/${name}`
  }
  return undefined
}

function run (cmd, args, log) {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 300_000 })
    return true
  } catch (err) {
    log(`  ${cmd} ${args.join(' ')} failed: ${String(err.stderr ?? err.message).trim().split('\n').pop()}`)
    return false
  }
}

/**
 * Paths of wrk and nginx, or undefined for what cannot be had. Installs with apt-get (one update first)
 * when running as root with apt-get present, unless BENCH_NO_INSTALL=1.
 */
export function ensureTools (log) {
  let wrk = which('wrk')
  let nginx = which('nginx')
  const missing = [wrk === undefined ? 'wrk' : null, nginx === undefined ? 'nginx' : null].filter((x) => x !== null)
  if (missing.length === 0) return { wrk, nginx }
  const canInstall = process.getuid?.() === 0 && which('apt-get') !== undefined && process.env.BENCH_NO_INSTALL !== '1'
  if (!canInstall) {
    log(`missing: ${missing.join(', ')}; not installing (needs root and apt-get, and BENCH_NO_INSTALL unset): run apt-get install -y ${missing.map((m) => m === 'nginx' ? 'nginx-light' : m).join(' ')}`)
    return { wrk, nginx }
  }
  log(`installing ${missing.join(', ')} from Debian's packages (apt-get update, then install)…`)
  if (run('apt-get', ['update', '-qq'], log)) {
    if (wrk === undefined) run('apt-get', ['install', '-y', '-qq', 'wrk'], log)
    // nginx-light is bookworm's smallest build; later releases ship only nginx.
    if (nginx === undefined && !run('apt-get', ['install', '-y', '-qq', 'nginx-light'], log)) run('apt-get', ['install', '-y', '-qq', 'nginx'], log)
  }
  wrk = which('wrk')
  nginx = which('nginx')
  return { wrk, nginx }
}

/** The first line a tool prints about its version (nginx -v writes to stderr). */
export function version (path, args) {
  const r = spawnSync(path, args, { encoding: 'utf8', timeout: 10_000 })
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0]
}
