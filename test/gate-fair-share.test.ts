import { describe, expect, it } from 'vitest'
import { UpstreamGate } from '../src/proxy/gate.js'
import { ManualClock } from './helpers/manual-clock.js'

/** issue 22: the upstream gate's places are shared fairly between named callers. */
describe('the upstream gate between named callers', () => {
  const settle = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve)) }

  it('a freed place goes to the waiting caller holding the fewest places, not to the oldest waiter', async () => {
    const gate = new UpstreamGate({ maxConcurrent: 2, queueTimeoutMs: 60_000, maxQueued: 10, clock: new ManualClock() })
    expect([gate.tryEnter('d/export'), gate.tryEnter('d/export')]).toEqual([true, true])
    const order: string[] = []
    const wait = (owner: string, n: number): void => { void gate.enter(owner).then(() => { order.push(`${owner}#${n}`) }) }
    wait('d/export', 3)
    wait('d/export', 4)
    wait('d/wallboard', 1)
    // Nobody jumps the queue while others wait.
    expect(gate.tryEnter('d/agent')).toBe(false)
    gate.leave('d/export')
    await settle()
    expect(order).toEqual(['d/wallboard#1'])
    gate.leave('d/wallboard')
    await settle()
    expect(order).toEqual(['d/wallboard#1', 'd/export#3'])
  })

  it('without callers (one owner) it is the FIFO it was', async () => {
    const gate = new UpstreamGate({ maxConcurrent: 1, queueTimeoutMs: 60_000, maxQueued: 10, clock: new ManualClock() })
    expect(gate.tryEnter()).toBe(true)
    const order: number[] = []
    for (const n of [1, 2, 3]) void gate.enter().then(() => { order.push(n) })
    for (let i = 0; i < 3; i++) {
      gate.leave()
      await settle()
    }
    expect(order).toEqual([1, 2, 3])
  })
})
