// How a traced request crosses from the request path to the trace exporter's thread (tracing.ts):
// one record of the ring they share (service/spsc-ring.ts) holds its numbers (times, status,
// phases, and the byte length of each of its strings) and then its strings (the agent's
// traceparent, tracestate, attributes) as UTF-8. Packing a request is a few dozen stores and one
// write of its strings; the thread encodes the spans straight from the ring (otlp-proto.ts),
// making no string or object per request. As JS strings they cost twice: postMessage flattened the
// batch's one concatenated string, and the thread sliced it into eight strings a request only to
// copy them out again (bench/HISTORY.md, issue 14, fourteenth session).

import type { Buffer } from 'node:buffer';
import type { RingReader, RingWriter } from '../service/spsc-ring.js';
import type { PhaseName, PhaseTimes } from './phases.js';

/** Phase names by code (a phase travels as its index here). */
export const PHASES: readonly PhaseName[] = ['route', 'identify', 'evaluate', 'step_up', 'forward'];
const PHASE_CODE: ReadonlyMap<PhaseName, number> = new Map(PHASES.map((p, i) => [p, i]));

/**
 * Phases kept per request: a tools/list whose result the policy filters evaluates each listed tool
 * as a phase, and a trace of thousands of spans per request helps nobody. The rest are dropped.
 */
export const MAX_PHASES = 64;

/** The strings of a request, by index: the agent's traceparent, tracestate, method, decision id, outcome, upstream, error. */
export const S_PARENT = 0;
export const S_TRACE_STATE = 1;
export const S_METHOD = 2;
export const S_DECISION_ID = 3;
export const S_OUTCOME = 4;
export const S_UPSTREAM = 5;
export const S_ERROR = 6;
const STRINGS = 7;
/**
 * Numbers per request: start, end, status, phase count, the byte length of each string (-1:
 * none), then code, start, end, failed per phase.
 */
const HEAD = 4 + STRINGS;
const PER_PHASE = 4;

/** What the `warden.request` span says of a request. */
export interface RequestAttributes {
  readonly method: string;
  readonly status: number;
  readonly decisionId: string;
  readonly outcome: string;
  readonly upstream: string | undefined;
  readonly error: string | undefined;
}

/** What the request path knows of a traced request when it ends. */
export interface TraceRecord extends RequestAttributes {
  readonly startMs: number;
  readonly endMs: number;
  readonly phases: PhaseTimes;
  /**
   * The agent's W3C traceparent, when it sent one that says sampled (trace-parent.ts,
   * `parentToPack`): the thread reads it in full, and takes its trace and span ids.
   */
  readonly parent: string | undefined;
  /** The agent's tracestate as sent; the thread keeps what the W3C rules keep. */
  readonly traceState: string | undefined;
}

/** Writes traced requests into the ring that the trace thread drains. */
export class TracePacker {
  readonly #ring: RingWriter;

  constructor(ring: RingWriter) {
    this.#ring = ring;
  }

  /** Packs one request; false when the ring has no room for it (the thread is behind, or the request is huge). */
  add(r: TraceRecord): boolean {
    const { names, times } = r.phases;
    const n = Math.min(names.length, MAX_PHASES);
    const numBytes = 8 * (HEAD + PER_PHASE * n);
    const { parent, traceState, method, decisionId, outcome, upstream, error } = r;
    // One write of all the strings: a call into Buffer's native UTF-8 writer per string, or a
    // JavaScript loop over the characters (about a hundred), cost two to three times as much
    // (bench/HISTORY.md, issue 14, sixteenth session). A string that is absent (-1) adds nothing.
    const all = (parent ?? '') + (traceState ?? '') + method + decisionId + outcome + (upstream ?? '') + (error ?? '');
    const ring = this.#ring;
    // Room for 3 bytes a character: UTF-8 takes no more for any UTF-16 code unit.
    const start = ring.reserve(numBytes + 3 * all.length);
    if (start < 0) return false;
    const nums = ring.f64;
    const bytes = ring.bytes;
    let at = start >> 3;
    const from = start + numBytes;
    let end = from + bytes.write(all, from);
    nums[at++] = r.startMs;
    nums[at++] = r.endMs;
    nums[at++] = r.status;
    nums[at++] = n;
    if (end - from === all.length) {
      // All ASCII (every string Warden packs but an odd upstream name or tracestate): a string's
      // bytes are its characters.
      nums[at++] = parent === undefined ? -1 : parent.length;
      nums[at++] = traceState === undefined ? -1 : traceState.length;
      nums[at++] = method.length;
      nums[at++] = decisionId.length;
      nums[at++] = outcome.length;
      nums[at++] = upstream === undefined ? -1 : upstream.length;
      nums[at++] = error === undefined ? -1 : error.length;
    } else {
      // Some character took more than one byte: each string again, measured as written.
      end = from;
      for (const s of [parent, traceState, method, decisionId, outcome, upstream, error]) {
        const k = s === undefined ? -1 : bytes.write(s, end);
        nums[at++] = k;
        if (k > 0) end += k;
      }
    }
    for (let p = 0; p < n; p++) {
      nums[at++] = PHASE_CODE.get(names[p]!) ?? 0;
      nums[at++] = times[3 * p]!;
      nums[at++] = times[3 * p + 1]!;
      nums[at++] = times[3 * p + 2]!;
    }
    ring.commit(end - start);
    return true;
  }
}

/**
 * One packed request, read where the ring holds it (`read`), with no allocation: its numbers at
 * `at` in `nums`, its strings `bytes[from[k], from[k] + size[k])` (size -1: none), its phase p's
 * code, start, end and failed at `phase(p)`.
 */
export class PackedRequest {
  readonly nums: Float64Array;
  readonly bytes: Buffer;
  readonly from = new Int32Array(STRINGS);
  readonly size = new Int32Array(STRINGS);
  /** This request's first number. */
  at = 0;
  /** This request's phase count. */
  phases = 0;

  constructor(ring: RingReader) {
    this.nums = ring.f64;
    this.bytes = ring.bytes;
  }

  /** Moves to the request whose record's payload starts at `payload` (8-aligned). */
  read(payload: number): this {
    const nums = this.nums;
    const at = (this.at = payload >> 3);
    this.phases = nums[at + 3]!;
    let byte = payload + 8 * (HEAD + PER_PHASE * this.phases);
    for (let k = 0; k < STRINGS; k++) {
      const n = nums[at + 4 + k]!;
      this.from[k] = byte;
      this.size[k] = n;
      if (n > 0) byte += n;
    }
    return this;
  }
  get startMs(): number {
    return this.nums[this.at]!;
  }

  get endMs(): number {
    return this.nums[this.at + 1]!;
  }

  get status(): number {
    return this.nums[this.at + 2]!;
  }

  /** Where phase p's four numbers (code, start, end, failed) begin. */
  phase(p: number): number {
    return this.at + HEAD + PER_PHASE * p;
  }

  /** String k of this request, decoded (for the rare reader that needs a string: tracestate, tests). */
  string(k: number): string | undefined {
    const n = this.size[k]!;
    return n < 0 ? undefined : this.bytes.toString('utf8', this.from[k], this.from[k]! + n);
  }
}
