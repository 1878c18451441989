// Warden's Prometheus metrics (prom-client), one registry per sidecar so that many sidecars can
// live in one process (the tests start dozens). The request path may import this module; the
// admin listener only renders it. Label sets are bounded: decision kinds, upstream names, coded
// error names, status codes, approval events.

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { BucketHistogram } from './bucket-histogram.js';

/** Wasm evaluation takes ~10–20 µs; the upper buckets catch a policy gone slow. */
const EVAL_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05];

let processRegistry: Registry | undefined;

/**
 * Process metrics (`process_*`, `nodejs_*`: CPU, memory, event-loop lag, GC) describe the process,
 * not a sidecar, and prom-client's collector starts an event-loop monitor and a GC observer that
 * are never stopped: so they are collected once per process, on first use, and shown by every
 * sidecar's /metrics.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class Metrics {
  readonly registry = new Registry();
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;

  /** Requests counted by countRequest() and not yet added to `requests` (added at each scrape). */
  readonly #uncounted = new Map<string, { labels: { decision: string; upstream: string; status: string }; n: number }>();
  readonly requests: Counter<'decision' | 'status' | 'upstream'> = new Counter({
    name: 'warden_requests_total',
    help: 'Requests by decision, upstream and status.',
    labelNames: ['decision', 'status', 'upstream'] as const,
    registers: [this.registry],
    collect: (): void => {
      for (const u of this.#uncounted.values()) {
        if (u.n === 0) continue;
        this.requests.inc(u.labels, u.n);
        u.n = 0;
      }
    },
  });
  readonly errors = new Counter({ name: 'warden_errors_total', help: 'Requests and events answered or ended with a coded error, by code.', labelNames: ['code'] as const, registers: [this.registry] });
  readonly bundleLoads = new Counter({ name: 'warden_bundle_loads_total', help: 'Policy bundle loads by result.', labelNames: ['code', 'result'] as const, registers: [this.registry] });
  readonly bundleRevision = new Gauge({ name: 'warden_bundle_info', help: 'The live bundle revision (value 1).', labelNames: ['revision'] as const, registers: [this.registry] });
  readonly approvals = new Counter({ name: 'warden_approvals_total', help: 'Approval events by kind.', labelNames: ['event'] as const, registers: [this.registry] });
  readonly bundleFetches = new Counter({ name: 'warden_bundle_fetches_total', help: 'Bundle server requests by result: ok (new bundle loaded), not_modified (304), error.', labelNames: ['result'] as const, registers: [this.registry] });
  readonly bundleFetchSuccess = new Gauge({ name: 'warden_bundle_fetch_success_timestamp_seconds', help: 'Unix time of the last successful bundle server request.', registers: [this.registry] });
  readonly bundleFetchFailure = new Gauge({ name: 'warden_bundle_fetch_failure_timestamp_seconds', help: 'Unix time of the last failed bundle server request (or refused bundle).', registers: [this.registry] });
  readonly logShipped = new Counter({ name: 'warden_decision_log_shipped_total', help: 'Decisions delivered to the decision-log collector.', registers: [this.registry] });
  readonly logDropped = new Counter({ name: 'warden_decision_log_dropped_total', help: 'Decisions not shipped because the collector buffer was full (the local log has them).', registers: [this.registry] });
  readonly tracesDropped = new Counter({ name: 'warden_traces_dropped_total', help: 'Sampled requests left untraced: the trace thread was behind (its ring full), or a request too large for its ring.', registers: [this.registry] });
  readonly logUploadFailures = new Counter({ name: 'warden_decision_log_upload_failures_total', help: 'Failed uploads to the decision-log collector (retried).', registers: [this.registry] });
  /** Sampled at scrape time: the shipper's buffer is not tracked on the request path. */
  #logBuffer: () => number = () => 0;
  readonly logBufferBytes: Gauge = new Gauge({ name: 'warden_decision_log_buffer_bytes', help: 'Decisions waiting for the collector, in bytes.', registers: [this.registry], collect: (): void => this.logBufferBytes.set(this.#logBuffer()) });
  #held: () => number = () => 0;
  readonly approvalHeld: Gauge = new Gauge({ name: 'warden_approval_held_requests', help: 'Requests held open waiting for an approver (step_up.hold).', registers: [this.registry], collect: (): void => this.approvalHeld.set(this.#held()) });
  /** Set by the composition root: the agent registry's counts, read at each scrape. */
  agentCounts: (() => Promise<{ byStatus: Record<string, number>; stale: number }>) | undefined;
  readonly agents: Gauge<'status'> = new Gauge({
    name: 'warden_agents',
    help: 'Registered agents by status.',
    labelNames: ['status'] as const,
    registers: [this.registry],
    collect: async () => {
      const c = await this.agentCounts?.();
      if (c) for (const [status, n] of Object.entries(c.byStatus)) this.agents.set({ status }, n);
    },
  });
  readonly agentsStale: Gauge = new Gauge({
    name: 'warden_agents_stale',
    help: 'Active agents unused for agents.stale_after.',
    registers: [this.registry],
    collect: async () => {
      const c = await this.agentCounts?.();
      if (c) this.agentsStale.set(c.stale);
    },
  });
  readonly evalSeconds = new BucketHistogram('warden_policy_eval_duration_seconds', 'Policy evaluation time.', EVAL_BUCKETS, this.registry);

  /**
   * Count one answered request (as `requests.inc({decision, upstream, status})`): a plain counter
   * per label set, added to `warden_requests_total` when it is read, so the request path skips
   * prom-client's label hashing and checks.
   */
  countRequest(decision: string, upstream: string, status: number): void {
    const key = `${decision} ${upstream} ${status}`;
    let u = this.#uncounted.get(key);
    if (u === undefined) {
      u = { labels: { decision, upstream, status: String(status) }, n: 0 };
      this.#uncounted.set(key, u);
    }
    u.n++;
  }

  sampleLogBuffer(bytes: () => number): void {
    this.#logBuffer = bytes;
  }

  sampleHeld(count: () => number): void {
    this.#held = count;
  }

  revision(rev: string): void {
    this.bundleRevision.reset();
    this.bundleRevision.set({ revision: rev }, 1);
  }

  /** The Prometheus text exposition: this sidecar's metrics, then the process's. */
  async render(): Promise<string> {
    return `${await this.registry.metrics()}\n${await processMetrics().metrics()}`;
  }
}
