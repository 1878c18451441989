// A histogram without labels for the request path. prom-client's Histogram#observe makes a closure
// and a labels object, validates and hashes the labels on every call (2.2-2.9 µs a request on the
// benchmark host, bench/HISTORY.md, seventh session); here an observation is a bucket search and
// three additions. The registry exposes it exactly as it would a prom-client Histogram
// (test/unit/observability/bucket-histogram.test.ts compares the two).

import type { Registry } from 'prom-client';

/** One sample as prom-client's registry reads it from a metric's get(). */
interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName: string;
  readonly exemplar?: null;
}

export class BucketHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative), the last one above every bound. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
    registry: Registry,
  ) {
    this.#bounds = [...buckets].sort((a, b) => a - b);
    this.#counts = new Float64Array(this.#bounds.length + 1);
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** Adds one observation; a value that is not a finite number is ignored (prom-client throws). */
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  get(): Promise<{ name: string; help: string; type: 'histogram'; values: Sample[]; aggregator: 'sum' }> {
    const bucket = `${this.name}_bucket`;
    const values: Sample[] = [];
    let acc = 0;
    this.#bounds.forEach((le, i) => {
      acc += this.#counts[i]!;
      values.push({ labels: { le }, value: acc, metricName: bucket, exemplar: null });
    });
    values.push(
      { labels: { le: '+Inf' }, value: this.#count, metricName: bucket, exemplar: null },
      { labels: {}, value: this.#sum, metricName: `${this.name}_sum` },
      { labels: {}, value: this.#count, metricName: `${this.name}_count` },
    );
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }
}
