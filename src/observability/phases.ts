// The phases of one request (route, identify, evaluate, step_up, forward) as start/end times, for
// the trace. Only created when tracing is on: the request path calls `phases?.start(...)`, so with
// tracing off a phase costs one undefined check and no allocation. A phase is three numbers in one
// array (start, end, failed) and its name in another: no object, closure or promise per phase.

import { performance } from 'node:perf_hooks';

export type PhaseName = 'route' | 'identify' | 'evaluate' | 'step_up' | 'forward';

/** `performance.timeOrigin` is a call into the runtime each time it is read: read once. */
const ORIGIN_MS = performance.timeOrigin;

/** What the encoder reads of a request's phases (test/unit/observability builds these by hand). */
export interface PhaseTimes {
  /** Phase i's name, in the order the phases started. */
  readonly names: readonly PhaseName[];
  /**
   * Phase i at 3i: start (ms since the epoch, sub-millisecond), end (NaN while it has not ended),
   * failed (1 or 0). A phase that never ended is one that threw, and is exported as failed.
   */
  readonly times: readonly number[];
}

/**
 * Times are `performance.now()` readings, which the request path takes anyway (its duration, the
 * evaluation's time) and passes in: each clock read costs 60-90 ns on this host, and a traced
 * request took sixteen of them before (bench/HISTORY.md, issue 14, thirteenth session).
 */
export class Phases implements PhaseTimes {
  // Set in the constructor, not as class fields: a field initializer's define was a call into an
  // IC on every request where a store is inlined (bench/HISTORY.md, issue 14, fifteenth session).
  declare readonly startMs: number;
  declare readonly names: PhaseName[];
  declare readonly times: number[];
  /** A W3C trace context found in the request body (MCP `params._meta`), which wins over the header. */
  declare meta: { traceparent: string; tracestate?: string } | undefined;

  /** `at`: the request's start, a `performance.now()` reading. */
  constructor(at: number) {
    this.startMs = ORIGIN_MS + at;
    this.names = [];
    this.times = [];
    this.meta = undefined;
  }

  /** Starts a phase at `at` (a `performance.now()` reading, now by default); returns its slot for `end`. */
  start(name: PhaseName, at = performance.now()): number {
    this.names.push(name);
    this.times.push(ORIGIN_MS + at, NaN, 0);
    return this.names.length - 1;
  }

  /**
   * Ends the phase started as `slot`; `failed` marks it an error. A phase whose call throws is
   * simply not ended: no promise or closure wraps the call to catch it.
   */
  end(slot: number, failed = false, at = performance.now()): void {
    this.times[3 * slot + 1] = ORIGIN_MS + at;
    if (failed) this.times[3 * slot + 2] = 1;
  }

  /** ms since the epoch of a `performance.now()` reading. */
  static epochMs(at: number): number {
    return ORIGIN_MS + at;
  }
}

/** `params._meta.traceparent` (and `tracestate`) of a JSON-RPC body, as MCP clients send them. */
export function metaTraceContext(body: unknown): Phases['meta'] {
  const meta = (body as { params?: { _meta?: Record<string, unknown> } } | null)?.params?._meta;
  if (typeof meta !== 'object' || meta === null || typeof meta.traceparent !== 'string') return undefined;
  return { traceparent: meta.traceparent, ...(typeof meta.tracestate === 'string' && { tracestate: meta.tracestate }) };
}
