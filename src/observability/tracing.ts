// OpenTelemetry traces of the request path, exported with OTLP/HTTP (`tracing` in the config; off
// when absent, and then nothing here is loaded on the request path). One trace per request: a
// server span `warden.request` whose parent is the agent's W3C `traceparent` (from MCP
// `params._meta` when the call carries one there, else from the HTTP header), with one child per
// phase (route, identify, evaluate, step_up, forward).
//
// The request path only takes timestamps (Phases) and, when the request is sampled, packs its
// numbers and strings into a ring shared with the trace thread (trace-pack.ts,
// service/spsc-ring.ts); the thread drains it every 100 ms (export_delay when shorter), encodes
// the spans and exports them. Encoding and exporting on the request path's own thread cost it
// 15-20 µs of CPU a request where the encoder alone takes 3 µs (bench/HISTORY.md, issue 14, sixth
// session); posting batches to the thread cost it a wake-up of the thread's core each time
// (fourteenth session).

import type { IncomingHttpHeaders } from 'node:http';
import type { Worker } from 'node:worker_threads';
import { createRing, RingWriter } from '../service/spsc-ring.js';
import { closeThread, startThread } from '../service/thread.js';
import { Phases } from './phases.js';
import { TracePacker, type RequestAttributes } from './trace-pack.js';
import type { ExporterOptions } from './trace-exporter.js';
import type { ToTraceThread, TraceThreadData } from './trace-thread.js';
import { parentToPack } from './trace-parent.js';

export interface TracingOptions extends ExporterOptions {
  /** The trace thread failed: tracing stops (requests are served as before). */
  readonly onError?: (err: unknown) => void;
  /** A sampled request went untraced: the trace thread was behind (its ring full), or the request too large for the ring. */
  readonly onDropped?: () => void;
}

export interface RequestSummary extends RequestAttributes {
  readonly phases: Phases;
  /** When the request ended, a `performance.now()` reading. */
  readonly endAt: number;
  readonly headers: IncomingHttpHeaders;
}

/**
 * How often the thread drains the ring (export_delay when shorter). The thread wakes on its own
 * timer: the request path never wakes it, but when it finds the ring half full (RING_BYTES).
 */
const DRAIN_MS = 100;
/**
 * The ring's size: about 2800 traced requests of 370 bytes, seven times what 100 ms bring at 4000
 * requests a second. When it is full, requests go untraced until the thread catches up.
 */
const RING_BYTES = 1 << 20;

export class Tracing {
  readonly #thread: Worker;
  readonly #ratio: number;
  readonly #ring: RingWriter;
  readonly #packer: TracePacker;
  readonly #onDropped: () => void;
  /** The thread failed or was closed: nothing more is recorded. */
  #stopped = false;
  #closing: Promise<void> | undefined;

  constructor(opts: TracingOptions) {
    this.#ratio = opts.sampleRatio;
    const ring = createRing(RING_BYTES);
    this.#ring = new RingWriter(ring);
    this.#packer = new TracePacker(this.#ring);
    this.#onDropped = opts.onDropped ?? ((): void => undefined);
    const exporter: ExporterOptions = { url: opts.url, serviceName: opts.serviceName, exportDelayMs: opts.exportDelayMs, sampleRatio: opts.sampleRatio, ...(opts.headers && { headers: opts.headers }) };
    const data: TraceThreadData = { exporter, ring, drainMs: Math.min(DRAIN_MS, opts.exportDelayMs) };
    this.#thread = startThread(import.meta.url, './trace-thread', data);
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
      const parent = typeof tp === 'string' ? parentToPack(tp) : undefined;
      // Parent-based sampling: a parent's sampled flag decides; without a valid one, the ratio
      // does (here, or in the thread for a parent packed unread that proves invalid).
      if (parent === null || (parent === undefined && !(Math.random() < this.#ratio))) return;
      const ts = meta ? meta.tracestate : r.headers.tracestate;
      const rec = {
        startMs: r.phases.startMs, endMs: Phases.epochMs(r.endAt), phases: r.phases,
        parent, traceState: parent !== undefined && typeof ts === 'string' ? ts : undefined,
        method: r.method, status: r.status, decisionId: r.decisionId, outcome: r.outcome, upstream: r.upstream, error: r.error,
      };
      // A full ring (the thread is behind: it runs only on an idle core) costs this request its trace.
      if (!this.#packer.add(rec)) this.#onDropped();
      else if (this.#ring.shouldWake()) this.#thread.postMessage({ type: 'drain' } satisfies ToTraceThread);
    } catch {
      // A malformed trace context costs the trace, never the request.
    }
  }

  /** Exports what is left; bounded by the drain time of the caller. */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await closeThread(this.#thread, { type: 'close' } satisfies ToTraceThread);
  }
}
