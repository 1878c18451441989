// The exporting half of tracing, run in the trace thread (trace-thread.ts): requests' spans are
// encoded as OTLP/protobuf (otlp-proto.ts) into the batch's buffer as they arrive; batches of
// 1 MiB (about 10 000 spans), or what `export_delay` found, are sent by the OpenTelemetry SDK's
// OTLP/HTTP transport (timeouts, retries, concurrency limit).

import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { TraceBatch, w3cTraceState } from './otlp-proto.js';
import type { RingReader } from '../service/spsc-ring.js';
import { PackedRequest } from './trace-pack.js';

export interface ExporterOptions {
  /** OTLP/HTTP traces endpoint, e.g. `http://collector:4318/v1/traces`. */
  readonly url: string;
  readonly serviceName: string;
  readonly headers?: Record<string, string>;
  /** Longest wait of a request's spans in the exporter before they are sent. */
  readonly exportDelayMs: number;
  /** Share of new traces (no valid sampled parent) that are recorded. */
  readonly sampleRatio: number;
}

/**
 * Encoded spans per export, about 2000 plain requests (10 000 spans). Each export costs the
 * thread 270-400 µs of CPU however small (the transport, an HTTP request and its answer, in code
 * that stays cold between exports), and the receiver its share: at the SDK batch span processor's
 * 512 spans that was 2 µs per request; at 256 KiB the thread took 4.8-4.9 µs a request and the
 * benchmark's receiver 2.4-2.8, at 1 MiB 3.6-3.7 and 1.8-1.9 (bench/HISTORY.md, issue 14,
 * seventeenth session).
 */
const EXPORT_BYTES = 1024 * 1024;
/** Exports under way at most; beyond (a slow receiver), requests go untraced rather than queue up. */
const MAX_INFLIGHT = 8;

/** One export: the encoded body and how many requests it holds. */
interface Encoded {
  readonly body: Buffer;
  readonly requests: number;
}

type Delegate = ReturnType<typeof createOtlpHttpExportDelegate<Encoded, unknown>>;

export class TraceExporter {
  readonly #delegate: Delegate;
  readonly #delayMs: number;
  readonly #batch: TraceBatch;
  #timer: NodeJS.Timeout | undefined;
  readonly #inflight = new Set<Promise<void>>();

  readonly #ring: RingReader;
  readonly #request: PackedRequest;

  /** `ring`: where the request path packs traced requests (trace-pack.ts). */
  constructor(opts: ExporterOptions, ring: RingReader) {
    this.#ring = ring;
    this.#request = new PackedRequest(ring);
    const serializer = {
      serializeRequest: (e: Encoded): Uint8Array => e.body,
      deserializeResponse: (): unknown => ({}),
    };
    const http = convertLegacyHttpOptions({ url: opts.url, ...(opts.headers && { headers: opts.headers }) }, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
    this.#delegate = createOtlpHttpExportDelegate(http, serializer, 'warden_otlp_http_span_exporter', { name: 'span', countItems: (e) => e.requests }, undefined);
    this.#delayMs = opts.exportDelayMs;
    this.#batch = new TraceBatch(opts.serviceName, w3cTraceState, opts.sampleRatio);
  }

  /**
   * Encodes the spans of the requests in the ring (but one whose parent proves invalid and the
   * ratio does not sample). A request that cannot be encoded costs its trace, never the others;
   * with MAX_INFLIGHT exports under way, requests go untraced.
   */
  drain(): void {
    this.#ring.drain(this.#each);
  }

  readonly #each = (at: number): void => {
    if (this.#inflight.size >= MAX_INFLIGHT) return;
    try {
      this.#batch.add(this.#request.read(at));
    } catch {
      return;
    }
    if (this.#batch.bytes >= EXPORT_BYTES) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), this.#delayMs).unref();
  };

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.count === 0) return;
    const encoded: Encoded = { requests: this.#batch.count, body: this.#batch.take() };
    const done = new Promise<void>((resolve) => this.#delegate.export(encoded, () => resolve()));
    this.#inflight.add(done);
    void done.then(() => {
      this.#inflight.delete(done);
      // Sent, or given up on: the body's buffer serves a later batch.
      this.#batch.recycle(encoded.body);
    });
  }

  /** Exports what is left (in the ring too) and waits for every export under way. */
  async close(): Promise<void> {
    this.drain();
    this.#flush();
    await Promise.all(this.#inflight);
    await this.#delegate.shutdown();
  }
}
