// OpenTelemetry traces of the request path, exported with OTLP/HTTP (`tracing` in the config; off
// when absent, and then nothing here is loaded on the request path). One trace per request: a
// server span `warden.request` whose parent is the agent's W3C `traceparent` (from MCP
// `params._meta` when the call carries one there, else from the HTTP header), with one child per
// phase (route, identify, evaluate, step_up, forward). The spans are built when the request has
// been answered, from the phase times recorded on the way, so the request path only takes
// timestamps; the batch processor exports them off the request path.

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { IncomingHttpHeaders } from 'node:http';
import { Phases } from './phases.js';

export interface TracingOptions {
  /** OTLP/HTTP traces endpoint, e.g. `http://collector:4318/v1/traces`. */
  readonly url: string;
  readonly serviceName: string;
  /** Share of new traces (no sampled parent) that are recorded. */
  readonly sampleRatio: number;
  readonly headers?: Record<string, string>;
  /** Batch delay of the span processor. */
  readonly exportDelayMs: number;
}

export interface RequestSummary {
  readonly phases: Phases;
  readonly headers: IncomingHttpHeaders;
  readonly decisionId: string;
  readonly method: string;
  readonly status: number;
  readonly outcome: string;
  readonly upstream: string | undefined;
  readonly error: string | undefined;
}

const propagator = new W3CTraceContextPropagator();

const getter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    return typeof v === 'string' || Array.isArray(v) ? (v as string | string[]) : undefined;
  },
};

export class Tracing {
  readonly #provider: BasicTracerProvider;
  readonly #tracer: Tracer;

  constructor(opts: TracingOptions) {
    this.#provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': opts.serviceName }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(opts.sampleRatio) }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.url, ...(opts.headers && { headers: opts.headers }) }), { scheduledDelayMillis: opts.exportDelayMs })],
    });
    this.#tracer = this.#provider.getTracer('warden');
  }

  /** A fresh phase recorder for one request. */
  begin(): Phases {
    return new Phases();
  }

  /** The spans of one answered request. Never throws (tracing must not fail a request). */
  record(r: RequestSummary): void {
    try {
      const parent = this.#parent(r);
      const root = this.#tracer.startSpan(
        'warden.request',
        {
          kind: SpanKind.SERVER,
          startTime: r.phases.startMs,
          attributes: {
            'http.request.method': r.method,
            'http.response.status_code': r.status,
            'warden.decision_id': r.decisionId,
            'warden.outcome': r.outcome,
            ...(r.upstream !== undefined && { 'warden.upstream': r.upstream }),
            ...(r.error !== undefined && { 'error.type': r.error }),
          },
        },
        parent,
      );
      const ctx = trace.setSpan(parent, root);
      const now = Phases.now();
      for (const p of r.phases.list) {
        const span = this.#tracer.startSpan(p.name, { kind: p.name === 'forward' ? SpanKind.CLIENT : SpanKind.INTERNAL, startTime: p.startMs }, ctx);
        if (p.failed) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end(p.endMs ?? now);
      }
      if (r.error !== undefined) root.setStatus({ code: SpanStatusCode.ERROR, message: r.error });
      root.end(now);
    } catch {
      // A malformed traceparent or an exporter quirk costs the trace, never the request.
    }
  }

  #parent(r: RequestSummary): Context {
    const carrier: Record<string, unknown> = r.phases.meta ?? { traceparent: r.headers.traceparent, tracestate: r.headers.tracestate };
    return propagator.extract(ROOT_CONTEXT, carrier, getter);
  }

  /** Exports what is left; bounded by the drain time of the caller. */
  close(): Promise<void> {
    return this.#provider.shutdown();
  }
}
