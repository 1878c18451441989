// The W3C `traceparent` of a request, read without a regular expression for the form every agent
// sends (`00-<32 hex>-<16 hex>-<2 hex>`, 55 characters): the OpenTelemetry parser's expression was
// the largest single cost of a traced request after the export (bench/HISTORY.md, issue 14).
// Anything else (surrounding space, a future version's longer form, a malformed value) goes to that
// parser, so what is accepted and refused is exactly what it accepts and refuses.
//
// A request's own thread does less still (`parentToPack`): it looks only at a value's length and
// sampled flag, and leaves reading it in full to the trace thread (otlp-proto.ts), which samples
// by the ratio a request whose parent proves invalid, as the request path did before: the
// reading cost the request path a microsecond (bench/HISTORY.md, issue 14, sixteenth session).

import { TraceFlags } from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';

export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

/** 0–15 for a lowercase hex digit, -1 otherwise. */
function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** True when `s[from, to)` is lowercase hex and not all zeros. */
function hexNonZero(s: string, from: number, to: number): boolean {
  let any = 0;
  for (let i = from; i < to; i++) {
    const v = hex(s.charCodeAt(i));
    if (v < 0) return false;
    any |= v;
  }
  return any !== 0;
}

/**
 * The common form, `00-<32 hex>-<16 hex>-<2 hex>`: its length, and where its trace id, parent span
 * id and flags start (each after a dash). The trace thread takes the ids from a packed value here.
 */
export const COMMON_LENGTH = 55;
export const TRACE_ID_AT = 3;
export const SPAN_ID_AT = 36;
const FLAGS_AT = 53;
const DASH = 0x2d;

/** The trace context of a `traceparent` value, or null when it is not a valid one. */
export function readTraceParent(tp: string): TraceParent | null {
  if (
    tp.length === COMMON_LENGTH && tp.charCodeAt(TRACE_ID_AT - 1) === DASH && tp.charCodeAt(SPAN_ID_AT - 1) === DASH && tp.charCodeAt(FLAGS_AT - 1) === DASH &&
    hex(tp.charCodeAt(0)) >= 0 && hex(tp.charCodeAt(1)) >= 0 && !(tp.charCodeAt(0) === 0x66 && tp.charCodeAt(1) === 0x66) &&
    hexNonZero(tp, TRACE_ID_AT, SPAN_ID_AT - 1) && hexNonZero(tp, SPAN_ID_AT, FLAGS_AT - 1) && hex(tp.charCodeAt(FLAGS_AT)) >= 0
  ) {
    const flags = hex(tp.charCodeAt(FLAGS_AT + 1));
    if (flags >= 0) return { traceId: tp.slice(TRACE_ID_AT, SPAN_ID_AT - 1), spanId: tp.slice(SPAN_ID_AT, FLAGS_AT - 1), sampled: (flags & TraceFlags.SAMPLED) !== 0 };
  }
  const p = parseTraceParent(tp);
  return p && { traceId: p.traceId, spanId: p.spanId, sampled: (p.traceFlags & TraceFlags.SAMPLED) !== 0 };
}

/**
 * What the request path packs of the agent's `traceparent` `tp` for the trace thread:
 * - `tp` itself when it has the length and the sampled flag of the common form (the thread reads it
 *   with readTraceParent, and a value that proves invalid is sampled by the ratio there);
 * - else, when it is valid and sampled, its ids in the common form;
 * - null when it is valid and not sampled (no trace);
 * - undefined when it is not valid (the ratio decides, as without one).
 */
export function parentToPack(tp: string): string | null | undefined {
  const flags = hex(tp.charCodeAt(FLAGS_AT + 1));
  if (tp.length === COMMON_LENGTH && flags >= 0 && (flags & TraceFlags.SAMPLED) !== 0) return tp;
  const p = readTraceParent(tp);
  if (!p) return undefined;
  return p.sampled ? `00-${p.traceId}-${p.spanId}-01` : null;
}
