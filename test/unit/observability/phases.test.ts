import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { Phases } from '../../../src/observability/phases.js';

describe('Phases', () => {
  it('records each phase in start order with its times, an open end as NaN, and failures', () => {
    const p = new Phases(performance.now());
    const route = p.start('route');
    p.end(route);
    const evaluate = p.start('evaluate');
    p.end(evaluate, true);
    p.start('evaluate');
    expect(p.names).toEqual(['route', 'evaluate', 'evaluate']);
    const t = p.times;
    expect(t).toHaveLength(9);
    expect(p.startMs).toBeLessThanOrEqual(t[0]!);
    expect(t[0]!).toBeLessThanOrEqual(t[1]!);
    expect(t[1]!).toBeLessThanOrEqual(t[3]!);
    expect([t[2], t[5], t[8]]).toEqual([0, 1, 0]);
    expect(t[7]).toBeNaN();
  });

  it('keeps the clock readings it is given, as ms since the epoch', () => {
    const at = performance.now();
    const p = new Phases(at);
    const slot = p.start('evaluate', at + 0.25);
    p.end(slot, false, at + 0.5);
    expect(p.startMs).toBe(performance.timeOrigin + at);
    expect(p.times).toEqual([performance.timeOrigin + at + 0.25, performance.timeOrigin + at + 0.5, 0]);
    expect(Phases.epochMs(at)).toBe(p.startMs);
    // Within a few ms of the wall clock: the readings are performance.now()'s, not the epoch's.
    expect(Math.abs(p.startMs - Date.now())).toBeLessThan(1000);
  });
});
