import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CxoneSimulator } from '../src/simulator/simulator.js'
import { simulatorEnv, startStack } from './helpers/harness.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

/**
 * Runs the built CLI with a preload that notes every module required by a name or path with "redis" in it: the
 * bundle keeps @redis/client apart, in dist/redis.cjs, required only in fleet mode.
 */
async function modulesLoaded (env: NodeJS.ProcessEnv): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-off-'))
  const log = join(dir, 'required.txt')
  writeFileSync(join(dir, 'hook.cjs'), `const Module = require('node:module')
const { appendFileSync } = require('node:fs')
const load = Module._load
Module._load = function (request, ...rest) {
  if (request.includes('redis')) appendFileSync(${JSON.stringify(log)}, request + '\\n')
  return load.call(this, request, ...rest)
}
`)
  const child = spawn(process.execPath, ['--require', join(dir, 'hook.cjs'), 'dist/main.js', 'start'], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<void>((resolve) => child.on('close', () => { resolve() }))
  const deadline = Date.now() + 20_000
  while (!out.includes('token obtained')) {
    if (Date.now() > deadline || child.exitCode !== null) { child.kill('SIGKILL'); throw new Error(`the proxy did not get a token:\n${out}`) }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.kill('SIGTERM')
  await exited
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : []
}

describe('without REDIS_URL', () => {
  let redis: RedisServer
  let sim: CxoneSimulator
  beforeAll(async () => {
    redis = await startRedis()
    sim = await new CxoneSimulator().start()
  })
  afterAll(async () => {
    await sim.stop()
    await redis.stop()
  })

  it('the Redis client is never loaded (and is, with it)', async () => {
    expect(await modulesLoaded(simulatorEnv(sim))).toEqual([])
    expect((await modulesLoaded(simulatorEnv(sim, { REDIS_URL: redis.url }))).length).toBeGreaterThan(0)
  }, 60_000)

  it('no fleet metrics, no fleet log line', async () => {
    const stack = await startStack()
    try {
      const text = await stack.running.proxy.metrics.text()
      expect(text).not.toContain('cxone_proxy_redis_up')
      expect(text).not.toContain('cxone_proxy_fleet_')
      expect(stack.logs.text()).not.toContain('fleet mode')
    } finally {
      await stack.close()
    }
  })
})
