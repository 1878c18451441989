// The hand-over of traced requests from the request path to the trace thread: what unpack() gives
// is what was packed, field by field; a full batch says so instead of overwriting; phases beyond
// MAX_PHASES are dropped; a tracestate the W3C parser refuses costs that request only.

import { describe, expect, it } from 'vitest';
import type { PhaseName } from '../../../src/observability/phases.js';
import { BATCH_REQUESTS, MAX_PHASES, TracePacker, unpack, type TraceRecord } from '../../../src/observability/trace-pack.js';

const T0 = 1_764_680_000_123.4567;
const record = (i: number, over: Partial<TraceRecord> = {}): TraceRecord => ({
  startMs: T0 + i, endMs: T0 + i + 2.5,
  phases: { names: ['route', 'identify', 'evaluate', 'step_up', 'forward'], times: [T0 + i, T0 + i + 0.1, 0, T0 + i + 0.1, T0 + i + 0.4, 0, T0 + i + 0.4, T0 + i + 0.41, 1, T0 + i + 0.41, NaN, 0, T0 + i + 0.5, T0 + i + 2.4, 0] },
  traceId: `${i}`.padStart(32, 'a'), spanId: 'b7ad6b7169203331', traceState: `k${i}=v`,
  method: 'GET', status: 200 + (i % 3), decisionId: `d-${i}`, outcome: 'allow', upstream: i % 2 ? 'github' : undefined, error: i % 2 ? undefined : 'UPSTREAM_TIMEOUT',
  ...over,
});
const keep = (raw: string): string => raw;

describe('TracePacker and unpack', () => {
  it('gives back every field of every request packed, in order', () => {
    const p = new TracePacker();
    const sent = Array.from({ length: 20 }, (_, i) => record(i, i === 3 ? { traceId: undefined, spanId: undefined, traceState: undefined } : {}));
    for (const r of sent) expect(p.add(r)).toBe(true);
    const got = [...unpack(p.take(), keep)];
    expect(got).toHaveLength(20);
    got.forEach((g, i) => {
      const r = sent[i]!;
      expect(g).toEqual({
        startMs: r.startMs, endMs: r.endMs, phases: r.phases,
        parent: r.traceId === undefined ? undefined : { traceId: r.traceId, spanId: r.spanId, traceState: r.traceState },
        method: r.method, status: r.status, decisionId: r.decisionId, outcome: r.outcome, upstream: r.upstream, error: r.error,
      });
    });
  });

  it('refuses a request when the batch is full, and starts empty after take()', () => {
    const p = new TracePacker();
    for (let i = 0; i < BATCH_REQUESTS; i++) expect(p.add(record(i))).toBe(true);
    expect(p.add(record(BATCH_REQUESTS))).toBe(false);
    const full = p.take();
    expect(full.count).toBe(BATCH_REQUESTS);
    expect([...unpack(full, keep)].at(-1)!.decisionId).toBe(`d-${BATCH_REQUESTS - 1}`);
    expect(p.count).toBe(0);
    expect(p.add(record(7))).toBe(true);
    expect([...unpack(p.take(), keep)].map((r) => r.decisionId)).toEqual(['d-7']);
  });

  it(`keeps the first ${MAX_PHASES} phases of a request that has more`, () => {
    const names: PhaseName[] = Array.from({ length: 300 }, () => 'evaluate');
    const times = names.flatMap((_, k) => [T0 + k, T0 + k + 0.5, 0]);
    const p = new TracePacker();
    expect(p.add(record(1, { phases: { names, times } }))).toBe(true);
    expect(p.add(record(2))).toBe(true);
    const [many, next] = [...unpack(p.take(), keep)];
    expect(many!.phases.names).toHaveLength(MAX_PHASES);
    expect(many!.phases.times).toEqual(times.slice(0, 3 * MAX_PHASES));
    expect(next!.decisionId).toBe('d-2');
  });

  it('skips only the request whose tracestate is refused', () => {
    const p = new TracePacker();
    for (let i = 0; i < 3; i++) p.add(record(i));
    const got = [...unpack(p.take(), (raw) => {
      if (raw === 'k1=v') throw new Error('bad tracestate');
      return raw.toUpperCase();
    })];
    expect(got.map((r) => [r.decisionId, r.parent?.traceState])).toEqual([['d-0', 'K0=V'], ['d-2', 'K2=V']]);
  });
});
