// How a traced request crosses from the request path to the trace exporter's thread (tracing.ts):
// its numbers (times, status, phases, and the length of each of its strings) in one Float64Array
// per batch, moved to the thread without a copy, and its strings (ids, tracestate, attributes) one
// after the other in one string. Packing a request is a few dozen stores; encoding it as
// OTLP/protobuf and exporting it happen in the thread. One string per batch, not an array of
// thousands: postMessage clones each string of an array on its own, which cost the request path
// about 2 % of its time.

import type { PhaseName, PhaseTimes } from './phases.js';
import type { RequestAttributes, TracedRequest } from './otlp-proto.js';

/** Phase names by code (a phase travels as its index here). */
const PHASES: readonly PhaseName[] = ['route', 'identify', 'evaluate', 'step_up', 'forward'];
const PHASE_CODE: ReadonlyMap<PhaseName, number> = new Map(PHASES.map((p, i) => [p, i]));

/**
 * Phases kept per request: a tools/list whose result the policy filters evaluates each listed tool
 * as a phase, and a trace of thousands of spans per request helps nobody. The rest are dropped.
 */
export const MAX_PHASES = 64;

/** Strings per request: trace id, span id, tracestate, method, decision id, outcome, upstream, error. */
const STRINGS = 8;
/**
 * Numbers per request: start, end, status, phase count, the length of each string (-1: none), then
 * code, start, end, failed per phase.
 */
const HEAD = 4 + STRINGS;
const PER_PHASE = 4;

/** Requests per batch at most: a batch is posted when it is this full. */
export const BATCH_REQUESTS = 512;
const CAPACITY = BATCH_REQUESTS * (HEAD + 8 * PER_PHASE);

/** A batch as posted to the thread. */
export interface PackedBatch {
  readonly nums: Float64Array;
  /** The requests' strings, one after the other (their lengths are in `nums`). */
  readonly text: string;
  readonly count: number;
}

/** What the request path knows of a traced request when it ends (the parent already parsed). */
export interface TraceRecord extends RequestAttributes {
  readonly startMs: number;
  readonly endMs: number;
  readonly phases: PhaseTimes;
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  /** The agent's tracestate as sent; the thread keeps what the W3C rules keep. */
  readonly traceState: string | undefined;
}

export class TracePacker {
  #nums = new Float64Array(CAPACITY);
  #at = 0;
  #text = '';
  count = 0;

  #string(at: number, s: string | undefined): void {
    if (s === undefined) {
      this.#nums[at] = -1;
      return;
    }
    this.#nums[at] = s.length;
    this.#text += s;
  }

  /** Packs one request; false when the batch has no room left for it (take() first). */
  add(r: TraceRecord): boolean {
    const { names, times } = r.phases;
    const n = Math.min(names.length, MAX_PHASES);
    const need = HEAD + PER_PHASE * n;
    if (this.count >= BATCH_REQUESTS || this.#at + need > CAPACITY) return false;
    const nums = this.#nums;
    let at = this.#at;
    nums[at++] = r.startMs;
    nums[at++] = r.endMs;
    nums[at++] = r.status;
    nums[at++] = n;
    this.#string(at++, r.traceId);
    this.#string(at++, r.spanId);
    this.#string(at++, r.traceState);
    this.#string(at++, r.method);
    this.#string(at++, r.decisionId);
    this.#string(at++, r.outcome);
    this.#string(at++, r.upstream);
    this.#string(at++, r.error);
    for (let p = 0; p < n; p++) {
      nums[at++] = PHASE_CODE.get(names[p]!) ?? 0;
      nums[at++] = times[3 * p]!;
      nums[at++] = times[3 * p + 1]!;
      nums[at++] = times[3 * p + 2]!;
    }
    this.#at = at;
    this.count++;
    return true;
  }

  /** The batch so far (its numbers in an exact-size array that can be transferred); starts a new one. */
  take(): PackedBatch {
    const batch = { nums: this.#nums.slice(0, this.#at), text: this.#text, count: this.count };
    this.#at = 0;
    this.#text = '';
    this.count = 0;
    return batch;
  }
}

/**
 * The requests of a batch, for the encoder. `traceState` maps the agent's tracestate to what is
 * passed on (the W3C rules drop invalid members); it may throw, and then that request is skipped.
 */
export function* unpack(b: PackedBatch, traceState: (raw: string) => string | undefined): Generator<TracedRequest> {
  const { nums, text } = b;
  let at = 0;
  let from = 0;
  const strs: (string | undefined)[] = new Array(STRINGS);
  for (let i = 0; i < b.count; i++) {
    const startMs = nums[at++]!;
    const endMs = nums[at++]!;
    const status = nums[at++]!;
    const n = nums[at++]!;
    for (let k = 0; k < STRINGS; k++) {
      const len = nums[at++]!;
      if (len < 0) strs[k] = undefined;
      else {
        strs[k] = text.slice(from, from + len);
        from += len;
      }
    }
    const names: PhaseName[] = [];
    const times: number[] = [];
    for (let p = 0; p < n; p++) {
      names.push(PHASES[nums[at++]!]!);
      times.push(nums[at++]!, nums[at++]!, nums[at++]!);
    }
    const [traceId, spanId, rawState, method, decisionId, outcome, upstream, error] = strs;
    let state: string | undefined;
    try {
      state = rawState === undefined ? undefined : traceState(rawState);
    } catch {
      // A malformed trace context costs the trace, never the others of the batch.
      continue;
    }
    yield {
      startMs, endMs, phases: { names, times },
      parent: traceId !== undefined && spanId !== undefined ? { traceId, spanId, traceState: state } : undefined,
      method: method!, status, decisionId: decisionId!, outcome: outcome!, upstream, error,
    };
  }
}
