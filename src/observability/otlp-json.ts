// OTLP/JSON encoding of Warden's request traces (ExportTraceServiceRequest, as the OTLP/HTTP JSON
// protocol defines it): one resource, one scope, per request a `warden.request` server span and
// one child per phase. Written by hand, not with the OpenTelemetry SDK's span objects and
// transformer: those cost more than the whole 5 % budget per traced request (bench/HISTORY.md,
// issue 14); here a request costs one string of about 2 KB built once per batch.

import { randomFillSync } from 'node:crypto';
import type { Phase } from './phases.js';

/** What the `warden.request` span says of a request. */
export interface RequestAttributes {
  readonly method: string;
  readonly status: number;
  readonly decisionId: string;
  readonly outcome: string;
  readonly upstream: string | undefined;
  readonly error: string | undefined;
}

/** One traced request, as queued on the request path. */
export interface TracedRequest extends RequestAttributes {
  readonly startMs: number;
  readonly endMs: number;
  readonly phases: readonly Phase[];
  /** The agent's trace context (trace id, parent span id, tracestate), when it sent one. */
  readonly parent: { readonly traceId: string; readonly spanId: string; readonly traceState: string | undefined } | undefined;
}

// OTLP enums (opentelemetry/proto/trace/v1/trace.proto).
const KIND_INTERNAL = 1;
const KIND_SERVER = 2;
const KIND_CLIENT = 3;
const STATUS_UNSET = '{}';
const STATUS_ERROR = '{"code":2}';

/** Epoch milliseconds (sub-millisecond fraction) as the decimal string of nanoseconds OTLP wants. */
export function unixNano(ms: number): string {
  let whole = Math.floor(ms);
  let frac = Math.round((ms - whole) * 1e6);
  if (frac === 1e6) {
    whole++;
    frac = 0;
  }
  return `"${whole}${(1e6 + frac).toString().slice(1)}"`;
}

// Random bytes are drawn 64 KB at a time: one CSPRNG call per thousand or so traced requests.
const pool = Buffer.allocUnsafe(65_536);
let poolAt = pool.length;

function randomHex(bytes: number): string {
  if (bytes > pool.length) return randomFillSync(Buffer.allocUnsafe(bytes)).toString('hex');
  if (poolAt + bytes > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool.toString('hex', poolAt, (poolAt += bytes));
}

const str = (key: string, v: string): string => `{"key":"${key}","value":{"stringValue":${JSON.stringify(v)}}}`;

function span(traceId: string, spanId: string, parentSpanId: string | undefined, traceState: string | undefined, name: string, kind: number, startMs: number, endMs: number, attributes: string, status: string): string {
  return `{"traceId":"${traceId}","spanId":"${spanId}"${parentSpanId ? `,"parentSpanId":"${parentSpanId}"` : ''}${traceState ? `,"traceState":${JSON.stringify(traceState)}` : ''},"name":"${name}","kind":${kind},` +
    `"startTimeUnixNano":${unixNano(startMs)},"endTimeUnixNano":${unixNano(endMs)},"attributes":[${attributes}],"status":${status}}`;
}

/** The OTLP/JSON body for a batch of traced requests, with fresh random span (and trace) ids. */
export function encodeTraces(serviceName: string, batch: readonly TracedRequest[]): string {
  let idBytes = 0;
  for (const r of batch) idBytes += 8 * (1 + r.phases.length) + (r.parent ? 0 : 16);
  // One hex string for every id of the batch, cut into ids (cheap slices).
  const ids = randomHex(idBytes);
  let at = 0;
  const hex = (bytes: number): string => ids.slice(at, (at += 2 * bytes));
  const spans: string[] = [];
  for (const r of batch) {
    const traceId = r.parent?.traceId ?? hex(16);
    const rootId = hex(8);
    const attrs = `${str('http.request.method', r.method)},{"key":"http.response.status_code","value":{"intValue":${r.status}}},${str('warden.decision_id', r.decisionId)},${str('warden.outcome', r.outcome)}` +
      (r.upstream !== undefined ? `,${str('warden.upstream', r.upstream)}` : '') + (r.error !== undefined ? `,${str('error.type', r.error)}` : '');
    const status = r.error !== undefined ? `{"code":2,"message":${JSON.stringify(r.error)}}` : STATUS_UNSET;
    spans.push(span(traceId, rootId, r.parent?.spanId, r.parent?.traceState, 'warden.request', KIND_SERVER, r.startMs, r.endMs, attrs, status));
    for (const p of r.phases) {
      spans.push(span(traceId, hex(8), rootId, undefined, p.name, p.name === 'forward' ? KIND_CLIENT : KIND_INTERNAL, p.startMs, p.endMs ?? r.endMs, '', p.failed ? STATUS_ERROR : STATUS_UNSET));
    }
  }
  return `{"resourceSpans":[{"resource":{"attributes":[${str('service.name', serviceName)}]},"scopeSpans":[{"scope":{"name":"warden"},"spans":[${spans.join(',')}]}]}]}`;
}
