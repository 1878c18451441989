// The phases of one request (route, identify, evaluate, step_up, forward) as start/end times, for
// the trace. Only created when tracing is on: the request path calls `phases?.start(...)`, so with
// tracing off a phase costs one undefined check and no allocation.

export type PhaseName = 'route' | 'identify' | 'evaluate' | 'step_up' | 'forward';

export interface Phase {
  readonly name: PhaseName;
  /** Milliseconds since the epoch, sub-millisecond precision. */
  readonly startMs: number;
  endMs: number | undefined;
  failed: boolean;
}

const nowMs = (): number => performance.timeOrigin + performance.now();

export class Phases {
  readonly startMs = nowMs();
  readonly list: Phase[] = [];

  /** Starts a phase; call the returned function when it ends (with `true` when it failed). */
  start(name: PhaseName): (failed?: boolean) => void {
    const phase: Phase = { name, startMs: nowMs(), endMs: undefined, failed: false };
    this.list.push(phase);
    return (failed = false) => {
      phase.endMs = nowMs();
      phase.failed = failed;
    };
  }

  /** A W3C trace context found in the request body (MCP `params._meta`), which wins over the header. */
  meta: { traceparent: string; tracestate?: string } | undefined;

  static now(): number {
    return nowMs();
  }
}

/** Runs `fn` as the phase `name` when tracing is on; a rejection marks the phase failed. */
export function phased<T>(phases: Phases | undefined, name: PhaseName, fn: () => Promise<T>): Promise<T> {
  return phases ? timed(phases, name, fn) : fn();
}

async function timed<T>(phases: Phases, name: PhaseName, fn: () => Promise<T>): Promise<T> {
  const end = phases.start(name);
  try {
    const v = await fn();
    end();
    return v;
  } catch (err) {
    end(true);
    throw err;
  }
}

/** `params._meta.traceparent` (and `tracestate`) of a JSON-RPC body, as MCP clients send them. */
export function metaTraceContext(body: unknown): Phases['meta'] {
  const meta = (body as { params?: { _meta?: Record<string, unknown> } } | null)?.params?._meta;
  if (typeof meta !== 'object' || meta === null || typeof meta.traceparent !== 'string') return undefined;
  return { traceparent: meta.traceparent, ...(typeof meta.tracestate === 'string' && { tracestate: meta.tracestate }) };
}
