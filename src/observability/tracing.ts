// OpenTelemetry traces of the request path, exported with OTLP/HTTP (`tracing` in the config; off
// when absent, and then nothing here is loaded on the request path). One trace per request: a
// server span `warden.request` whose parent is the agent's W3C `traceparent` (from MCP
// `params._meta` when the call carries one there, else from the HTTP header), with one child per
// phase (route, identify, evaluate, step_up, forward).
//
// The request path only takes timestamps (Phases) and, when the request is sampled, packs its
// numbers and strings into a batch (trace-pack.ts) that goes to the trace thread (trace-thread.ts)
// every 512 requests or 20 ms (export_delay when shorter); the thread encodes the spans and
// exports them. Encoding and exporting on the request path's own thread cost it 15-20 µs of CPU a
// request where the encoder alone takes 3 µs (bench/HISTORY.md, issue 14, sixth session).

import type { IncomingHttpHeaders } from 'node:http';
import type { Worker } from 'node:worker_threads';
import { closeThread, startThread } from '../service/thread.js';
import type { RequestAttributes } from './otlp-proto.js';
import { Phases } from './phases.js';
import { TracePacker } from './trace-pack.js';
import type { ExporterOptions } from './trace-exporter.js';
import type { ToTraceThread } from './trace-thread.js';
import { readTraceParent } from './trace-parent.js';

export interface TracingOptions extends ExporterOptions {
  /** Share of new traces (no sampled parent) that are recorded. */
  readonly sampleRatio: number;
  /** The trace thread failed: tracing stops (requests are served as before). */
  readonly onError?: (err: unknown) => void;
}

export interface RequestSummary extends RequestAttributes {
  readonly phases: Phases;
  /** When the request ended, a `performance.now()` reading. */
  readonly endAt: number;
  readonly headers: IncomingHttpHeaders;
}

/**
 * Longest wait of a packed request before its batch goes to the thread (export_delay when
 * shorter). Posting every 100 ms instead did not lower `postMessage`'s share of the main thread's
 * profile (1.17 → 1.10 %): what it shows there is the thread's work on the batch, run on the
 * request path's core while it posts, not the post itself (bench/HISTORY.md, seventh session).
 */
const POST_MS = 20;

export class Tracing {
  readonly #thread: Worker;
  readonly #ratio: number;
  readonly #postMs: number;
  #packer = new TracePacker();
  #timer: NodeJS.Timeout | undefined;
  /** The thread failed or was closed: nothing more is recorded. */
  #stopped = false;
  #closing: Promise<void> | undefined;

  constructor(opts: TracingOptions) {
    this.#ratio = opts.sampleRatio;
    this.#postMs = Math.min(POST_MS, opts.exportDelayMs);
    const exporter: ExporterOptions = { url: opts.url, serviceName: opts.serviceName, exportDelayMs: opts.exportDelayMs, ...(opts.headers && { headers: opts.headers }) };
    this.#thread = startThread(import.meta.url, './trace-thread', exporter);
    // Never what keeps the process alive: close() is what waits for the exports.
    this.#thread.unref();
    this.#thread.on('error', (err) => {
      this.#stopped = true;
      opts.onError?.(err);
    });
  }

  /** A fresh phase recorder for one request that started at `at` (a `performance.now()` reading). */
  begin(at: number): Phases {
    return new Phases(at);
  }

  /** Queues the spans of one answered request when it is sampled. Never throws. */
  record(r: RequestSummary): void {
    try {
      if (this.#stopped) return;
      const meta = r.phases.meta;
      const tp = meta ? meta.traceparent : r.headers.traceparent;
      const parent = typeof tp === 'string' ? readTraceParent(tp) : null;
      // Parent-based sampling: a parent's sampled flag decides; without one, the ratio does.
      if (parent ? !parent.sampled : !(Math.random() < this.#ratio)) return;
      const ts = meta ? meta.tracestate : r.headers.tracestate;
      const rec = {
        startMs: r.phases.startMs, endMs: Phases.epochMs(r.endAt), phases: r.phases,
        traceId: parent?.traceId, spanId: parent?.spanId, traceState: parent && typeof ts === 'string' ? ts : undefined,
        method: r.method, status: r.status, decisionId: r.decisionId, outcome: r.outcome, upstream: r.upstream, error: r.error,
      };
      if (!this.#packer.add(rec)) {
        this.#post();
        this.#packer.add(rec);
      }
      this.#timer ??= setTimeout(() => this.#post(), this.#postMs).unref();
    } catch {
      // A malformed trace context costs the trace, never the request.
    }
  }

  #post(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#packer.count === 0) return;
    const batch = this.#packer.take();
    const m: ToTraceThread = { type: 'batch', batch };
    this.#thread.postMessage(m, [batch.nums.buffer as ArrayBuffer]);
  }

  /** Exports what is left; bounded by the drain time of the caller. */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    if (this.#stopped) return;
    this.#post();
    this.#stopped = true;
    await closeThread(this.#thread, { type: 'close' } satisfies ToTraceThread);
  }
}
