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

/** The trace context of a `traceparent` value, or null when it is not a valid one. */
export function readTraceParent(tp: string): TraceParent | null {
  if (
    tp.length === 55 && tp.charCodeAt(2) === 0x2d && tp.charCodeAt(35) === 0x2d && tp.charCodeAt(52) === 0x2d &&
    hex(tp.charCodeAt(0)) >= 0 && hex(tp.charCodeAt(1)) >= 0 && !(tp.charCodeAt(0) === 0x66 && tp.charCodeAt(1) === 0x66) &&
    hexNonZero(tp, 3, 35) && hexNonZero(tp, 36, 52) && hex(tp.charCodeAt(53)) >= 0
  ) {
    const flags = hex(tp.charCodeAt(54));
    if (flags >= 0) return { traceId: tp.slice(3, 35), spanId: tp.slice(36, 52), sampled: (flags & TraceFlags.SAMPLED) !== 0 };
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
  const flags = hex(tp.charCodeAt(54));
  if (tp.length === 55 && flags >= 0 && (flags & TraceFlags.SAMPLED) !== 0) return tp;
  const p = readTraceParent(tp);
  if (!p) return undefined;
  return p.sampled ? `00-${p.traceId}-${p.spanId}-01` : null;
}
