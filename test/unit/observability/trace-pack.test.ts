// The hand-over of traced requests from the request path to the trace thread: what PackedRequest
// reads is what was packed, field by field, non-ASCII strings included; a full ring says so
// instead of overwriting; phases beyond MAX_PHASES are dropped.

import { describe, expect, it } from 'vitest';
import type { PhaseName } from '../../../src/observability/phases.js';
import { createRing, RingReader, RingWriter } from '../../../src/service/spsc-ring.js';
import { MAX_PHASES, PackedRequest, PHASES, S_DECISION_ID, S_ERROR, S_METHOD, S_OUTCOME, S_PARENT, S_TRACE_STATE, S_UPSTREAM, TracePacker, type TraceRecord } from '../../../src/observability/trace-pack.js';

const T0 = 1_764_680_000_123.4567;
const record = (i: number, over: Partial<TraceRecord> = {}): TraceRecord => ({
  startMs: T0 + i, endMs: T0 + i + 2.5,
  phases: { names: ['route', 'identify', 'evaluate', 'step_up', 'forward'], times: [T0 + i, T0 + i + 0.1, 0, T0 + i + 0.1, T0 + i + 0.4, 0, T0 + i + 0.4, T0 + i + 0.41, 1, T0 + i + 0.41, NaN, 0, T0 + i + 0.5, T0 + i + 2.4, 0] },
  parent: `00-${`${i}`.padStart(32, 'a')}-b7ad6b7169203331-01`, traceState: `k${i}=v`,
  method: 'GET', status: 200 + (i % 3), decisionId: `d-${i}`, outcome: 'allow', upstream: i % 2 ? 'github' : undefined, error: i % 2 ? undefined : 'UPSTREAM_TIMEOUT',
  ...over,
});

/** A packer over a fresh ring of `bytes`, and what its reader gives back of each request packed so far. */
function ring(bytes = 1 << 20): { packer: TracePacker; read: () => TraceRecord[] } {
  const sab = createRing(bytes);
  const reader = new RingReader(sab);
  const c = new PackedRequest(reader);
  const read = (): TraceRecord[] => {
    const out: TraceRecord[] = [];
    reader.drain((at) => {
      c.read(at);
      const names: PhaseName[] = [];
      const times: number[] = [];
      for (let p = 0; p < c.phases; p++) {
        const k = c.phase(p);
        names.push(PHASES[c.nums[k]!]!);
        times.push(c.nums[k + 1]!, c.nums[k + 2]!, c.nums[k + 3]!);
      }
      out.push({
        startMs: c.startMs, endMs: c.endMs, status: c.status, phases: { names, times },
        parent: c.string(S_PARENT), traceState: c.string(S_TRACE_STATE),
        method: c.string(S_METHOD)!, decisionId: c.string(S_DECISION_ID)!, outcome: c.string(S_OUTCOME)!, upstream: c.string(S_UPSTREAM), error: c.string(S_ERROR),
      });
    });
    return out;
  };
  return { packer: new TracePacker(new RingWriter(sab)), read };
}

describe('TracePacker and PackedRequest', () => {
  it('gives back every field of every request packed, in order, non-ASCII strings included', () => {
    const { packer, read } = ring();
    const sent = Array.from({ length: 20 }, (_, i) => record(i, i === 3 ? { parent: undefined, traceState: undefined } : i === 4 ? { upstream: 'äpi-ünicode', error: '' } : i === 5 ? { traceState: 'ü=1', upstream: undefined, error: undefined } : {}));
    for (const r of sent) expect(packer.add(r)).toBe(true);
    expect(read()).toEqual(sent);
  });

  it('refuses a request when the ring is full, and takes requests again once it is read', () => {
    const { packer, read } = ring(64 * 1024);
    let n = 0;
    while (packer.add(record(n))) n++;
    expect(n).toBeGreaterThan(100);
    const got = read();
    expect(got.map((r) => r.decisionId)).toEqual(Array.from({ length: n }, (_, i) => `d-${i}`));
    // Round the ring several times: every request comes back once, whole.
    for (let k = 0; k < 5 * n; k += 7) {
      for (let i = k; i < k + 7; i++) expect(packer.add(record(i))).toBe(true);
      expect(read().map((r) => r.decisionId)).toEqual(Array.from({ length: 7 }, (_, i) => `d-${k + i}`));
    }
  });

  it('refuses a request whose strings alone would not fit the ring', () => {
    const { packer, read } = ring();
    expect(packer.add(record(1, { decisionId: 'x'.repeat(1 << 20) }))).toBe(false);
    expect(packer.add(record(2))).toBe(true);
    expect(read().map((r) => r.decisionId)).toEqual(['d-2']);
  });

  it(`keeps the first ${MAX_PHASES} phases of a request that has more`, () => {
    const names: PhaseName[] = Array.from({ length: 300 }, () => 'evaluate');
    const times = names.flatMap((_, k) => [T0 + k, T0 + k + 0.5, 0]);
    const { packer, read } = ring();
    expect(packer.add(record(1, { phases: { names, times } }))).toBe(true);
    expect(packer.add(record(2))).toBe(true);
    const [many, next] = read();
    expect(many!.phases.names).toHaveLength(MAX_PHASES);
    expect(many!.phases.times).toEqual(times.slice(0, 3 * MAX_PHASES));
    expect(next!.decisionId).toBe('d-2');
  });
});
