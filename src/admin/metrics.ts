// Prometheus text exposition, kept in process: counters and gauges with labels and one
// histogram. Small on purpose; the label sets are bounded (upstream names, decision kinds,
// coded error names, status classes).

type Labels = Record<string, string>;

const escape = (v: string): string => v.replace(/["\\\n]/g, '_');

class Family {
  readonly values = new Map<string, number>();
  /** Label names in the order they are rendered; fixed, so a key needs no sorting per call. */
  constructor(readonly name: string, readonly help: string, readonly type: 'counter' | 'gauge', readonly labelNames: readonly string[] = []) {}
  #key(labels: Labels): string {
    let k = '';
    for (const n of this.labelNames) if (labels[n] !== undefined) k += `${k ? ',' : ''}${n}="${escape(labels[n])}"`;
    return k;
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = this.#key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  set(labels: Labels, v: number): void {
    this.values.set(this.#key(labels), v);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ''} ${v}`);
    return lines.join('\n');
  }
}

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count += 1;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) this.counts[i]! += 1;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

export class Metrics {
  readonly requests = new Family('warden_requests_total', 'Requests by decision, upstream and status.', 'counter', ['decision', 'status', 'upstream']);
  readonly errors = new Family('warden_errors_total', 'Requests answered with a coded error, by code.', 'counter', ['code']);
  readonly bundleLoads = new Family('warden_bundle_loads_total', 'Policy bundle loads by result.', 'counter', ['code', 'result']);
  readonly bundleRevision = new Family('warden_bundle_info', 'The live bundle revision (value 1).', 'gauge', ['revision']);
  readonly approvals = new Family('warden_approvals_total', 'Approval events by kind.', 'counter', ['event']);
  readonly evalSeconds = new Histogram('warden_policy_eval_duration_seconds', 'Policy evaluation time.', [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01]);

  revision(rev: string): void {
    this.bundleRevision.values.clear();
    this.bundleRevision.set({ revision: rev }, 1);
  }

  render(): string {
    return `${[this.requests, this.errors, this.bundleLoads, this.bundleRevision, this.approvals, this.evalSeconds].map((m) => m.render()).join('\n')}\n`;
  }
}
