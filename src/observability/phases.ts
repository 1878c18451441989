// The phases of one request (route, identify, evaluate, step_up, forward) as start/end times, for
// the trace. Only created when tracing is on: the request path calls `phases?.start(...)`, so with
// tracing off a phase costs one undefined check and no allocation. A phase is three numbers in one
// array (start, end, failed) and its name in another: no object or closure per phase.

import { performance } from 'node:perf_hooks';

export type PhaseName = 'route' | 'identify' | 'evaluate' | 'step_up' | 'forward';

/** `performance.timeOrigin` is a call into the runtime each time it is read: read once. */
const ORIGIN_MS = performance.timeOrigin;
const nowMs = (): number => ORIGIN_MS + performance.now();

/** What the encoder reads of a request's phases (test/unit/observability builds these by hand). */
export interface PhaseTimes {
  /** Phase i's name, in the order the phases started. */
  readonly names: readonly PhaseName[];
  /**
   * Phase i at 3i: start (ms since the epoch, sub-millisecond), end (NaN while it has not ended),
   * failed (1 or 0).
   */
  readonly times: readonly number[];
}

export class Phases implements PhaseTimes {
  readonly startMs = nowMs();
  readonly names: PhaseName[] = [];
  readonly times: number[] = [];

  /** Starts a phase; returns its slot for `end`. */
  start(name: PhaseName): number {
    this.names.push(name);
    this.times.push(nowMs(), NaN, 0);
    return this.names.length - 1;
  }

  /** Ends the phase started as `slot`; `failed` marks it an error. */
  end(slot: number, failed = false): void {
    this.times[3 * slot + 1] = nowMs();
    if (failed) this.times[3 * slot + 2] = 1;
  }

  /** A W3C trace context found in the request body (MCP `params._meta`), which wins over the header. */
  meta: { traceparent: string; tracestate?: string } | undefined;

  static now(): number {
    return nowMs();
  }
}

/** Runs `fn` as the phase `name` when tracing is on; a rejection marks the phase failed. */
export function phased<T>(phases: Phases | undefined, name: PhaseName, fn: () => Promise<T>): Promise<T> {
  if (!phases) return fn();
  const slot = phases.start(name);
  let running: Promise<T>;
  try {
    running = fn();
  } catch (err) {
    phases.end(slot, true);
    throw err;
  }
  return running.then(
    (v) => {
      phases.end(slot);
      return v;
    },
    (err: unknown) => {
      phases.end(slot, true);
      throw err;
    },
  );
}

/** `params._meta.traceparent` (and `tracestate`) of a JSON-RPC body, as MCP clients send them. */
export function metaTraceContext(body: unknown): Phases['meta'] {
  const meta = (body as { params?: { _meta?: Record<string, unknown> } } | null)?.params?._meta;
  if (typeof meta !== 'object' || meta === null || typeof meta.traceparent !== 'string') return undefined;
  return { traceparent: meta.traceparent, ...(typeof meta.tracestate === 'string' && { tracestate: meta.tracestate }) };
}
