import type { Registry } from 'prom-client'

type Labels = Record<string, string>

/** One label set's count, incremented in place by whoever holds it. */
export interface CountedChild { value: number }

/** One label set's histogram: its buckets' counts (not cumulative), sum and count, updated in place. */
export interface ObservedChild { observe: (value: number) => void }

interface Sample { metricName?: string, labels: Record<string, string | number>, value: number }

/**
 * A Prometheus counter whose label children are plain objects, bound once and counted in place (issue 26):
 * prom-client's own children hash their label object on every `inc`. Registered like a prom-client metric (its
 * `get()` is what prom-client's registry formats), so /_proxy/metrics reads the live counts.
 */
export class InPlaceCounter {
  readonly #children = new Map<string, { labels: Labels, child: CountedChild }>()
  constructor (readonly name: string, readonly help: string, readonly labelNames: readonly string[], registry: Registry) {
    registry.registerMetric(this as never)
  }

  /** The child of these label values (in labelNames' order), made at its first use and kept. */
  child (...values: string[]): CountedChild {
    const key = values.join('\u0000')
    let entry = this.#children.get(key)
    if (entry === undefined) {
      entry = { labels: Object.fromEntries(this.labelNames.map((n, i) => [n, values[i] as string])), child: { value: 0 } }
      this.#children.set(key, entry)
    }
    return entry.child
  }

  get (): { name: string, help: string, type: string, aggregator: string, values: Sample[] } {
    return { name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values: [...this.#children.values()].map((e) => ({ labels: e.labels, value: e.child.value })) }
  }

  reset (): void { for (const e of this.#children.values()) e.child.value = 0 }
}

/** A Prometheus histogram like InPlaceCounter: each observation goes to its bucket at once. */
export class InPlaceHistogram {
  readonly #children = new Map<string, { labels: Labels, counts: Float64Array, sum: number, count: number, child: ObservedChild }>()
  constructor (readonly name: string, readonly help: string, readonly labelNames: readonly string[], readonly buckets: readonly number[], registry: Registry) {
    registry.registerMetric(this as never)
  }

  child (...values: string[]): ObservedChild {
    const key = values.join('\u0000')
    let entry = this.#children.get(key)
    if (entry === undefined) {
      const buckets = this.buckets
      const e = { labels: Object.fromEntries(this.labelNames.map((n, i) => [n, values[i] as string])), counts: new Float64Array(buckets.length + 1), sum: 0, count: 0, child: undefined as unknown as ObservedChild }
      e.child = {
        observe: (v) => {
          let i = 0
          while (i < buckets.length && v > (buckets[i] as number)) i++
          e.counts[i] = (e.counts[i] as number) + 1
          e.sum += v
          e.count++
        }
      }
      entry = e
      this.#children.set(key, e)
    }
    return entry.child
  }

  get (): { name: string, help: string, type: string, aggregator: string, values: Sample[] } {
    const values: Sample[] = []
    for (const e of this.#children.values()) {
      let cumulative = 0
      this.buckets.forEach((le, i) => {
        cumulative += e.counts[i] as number
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...e.labels }, value: cumulative })
      })
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...e.labels }, value: e.count })
      values.push({ metricName: `${this.name}_sum`, labels: e.labels, value: e.sum })
      values.push({ metricName: `${this.name}_count`, labels: e.labels, value: e.count })
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values }
  }

  reset (): void {
    for (const e of this.#children.values()) { e.counts.fill(0); e.sum = 0; e.count = 0 }
  }
}
