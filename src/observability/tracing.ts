// OpenTelemetry traces of the request path, exported with OTLP/HTTP (`tracing` in the config; off
// when absent, and then nothing here is loaded on the request path). One trace per request: a
// server span `warden.request` whose parent is the agent's W3C `traceparent` (from MCP
// `params._meta` when the call carries one there, else from the HTTP header), with one child per
// phase (route, identify, evaluate, step_up, forward). The request path only takes timestamps
// (Phases) and, when the request is sampled, encodes its spans as OTLP/protobuf (otlp-proto.ts)
// into the batch's buffer as it ends; batches of 256 KiB (about 2000 spans), or what `export_delay`
// found, are sent by the OpenTelemetry SDK's OTLP/HTTP transport (timeouts, retries, concurrency limit).

import { TraceState } from '@opentelemetry/core';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import type { IncomingHttpHeaders } from 'node:http';
import { TraceBatch, type RequestAttributes } from './otlp-proto.js';
import { Phases } from './phases.js';
import { readTraceParent } from './trace-parent.js';

export interface TracingOptions {
  /** OTLP/HTTP traces endpoint, e.g. `http://collector:4318/v1/traces`. */
  readonly url: string;
  readonly serviceName: string;
  /** Share of new traces (no sampled parent) that are recorded. */
  readonly sampleRatio: number;
  readonly headers?: Record<string, string>;
  /** Longest wait of a finished request's spans before they are sent. */
  readonly exportDelayMs: number;
}

export interface RequestSummary extends RequestAttributes {
  readonly phases: Phases;
  readonly headers: IncomingHttpHeaders;
}

/**
 * Encoded spans per export, about 400 plain requests (2000 spans). Each export costs about 270 µs
 * of CPU however small (the transport, an HTTP request and its answer): at the SDK batch span
 * processor's 512 spans that was 2 µs per request (bench/HISTORY.md, issue 14).
 */
const EXPORT_BYTES = 256 * 1024;
/** Exports under way at most; beyond (a slow receiver), requests go untraced rather than queue up. */
const MAX_INFLIGHT = 8;

/** One export: the encoded body and how many requests it holds. */
interface Encoded {
  readonly body: Buffer;
  readonly requests: number;
}

type Delegate = ReturnType<typeof createOtlpHttpExportDelegate<Encoded, unknown>>;

export class Tracing {
  readonly #delegate: Delegate;
  readonly #ratio: number;
  readonly #delayMs: number;
  readonly #batch: TraceBatch;
  #timer: NodeJS.Timeout | undefined;
  readonly #inflight = new Set<Promise<void>>();

  constructor(opts: TracingOptions) {
    const serializer = {
      serializeRequest: (e: Encoded): Uint8Array => e.body,
      deserializeResponse: (): unknown => ({}),
    };
    const http = convertLegacyHttpOptions({ url: opts.url, ...(opts.headers && { headers: opts.headers }) }, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
    this.#delegate = createOtlpHttpExportDelegate(http, serializer, 'warden_otlp_http_span_exporter', { name: 'span', countItems: (e) => e.requests }, undefined);
    this.#ratio = opts.sampleRatio;
    this.#delayMs = opts.exportDelayMs;
    this.#batch = new TraceBatch(opts.serviceName);
  }

  /** A fresh phase recorder for one request. */
  begin(): Phases {
    return new Phases();
  }

  /** Queues the spans of one answered request when it is sampled. Never throws. */
  record(r: RequestSummary): void {
    try {
      const meta = r.phases.meta;
      const tp = meta ? meta.traceparent : r.headers.traceparent;
      const parent = typeof tp === 'string' ? readTraceParent(tp) : null;
      // Parent-based sampling: a parent's sampled flag decides; without one, the ratio does.
      if (parent ? !parent.sampled : !(Math.random() < this.#ratio)) return;
      if (this.#inflight.size >= MAX_INFLIGHT) return;
      const ts = meta ? meta.tracestate : r.headers.tracestate;
      this.#batch.add({
        startMs: r.phases.startMs, endMs: Phases.now(), phases: r.phases,
        // tracestate is passed on as the W3C rules keep it (invalid members dropped).
        parent: parent ? { traceId: parent.traceId, spanId: parent.spanId, traceState: typeof ts === 'string' ? new TraceState(ts).serialize() || undefined : undefined } : undefined,
        method: r.method, status: r.status, decisionId: r.decisionId, outcome: r.outcome, upstream: r.upstream, error: r.error,
      });
      if (this.#batch.bytes >= EXPORT_BYTES) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#delayMs).unref();
    } catch {
      // A malformed trace context costs the trace, never the request.
    }
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.count === 0) return;
    const encoded: Encoded = { requests: this.#batch.count, body: this.#batch.take() };
    const done = new Promise<void>((resolve) => this.#delegate.export(encoded, () => resolve()));
    this.#inflight.add(done);
    void done.then(() => this.#inflight.delete(done));
  }

  /** Exports what is left; bounded by the drain time of the caller. */
  async close(): Promise<void> {
    this.#flush();
    await Promise.all(this.#inflight);
    await this.#delegate.shutdown();
  }
}
