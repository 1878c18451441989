import { describe, expect, it } from 'vitest';
import { phased, Phases } from '../../../src/observability/phases.js';

describe('Phases', () => {
  it('records each phase in start order with its times, an open end as NaN, and failures', () => {
    const p = new Phases();
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

  it('phased() times a phase, marks a rejection or a throw failed, and passes both on', async () => {
    const p = new Phases();
    await expect(phased(p, 'identify', async () => 7)).resolves.toBe(7);
    await expect(phased(p, 'forward', () => Promise.reject(new Error('upstream down')))).rejects.toThrow('upstream down');
    expect(() => phased(p, 'step_up', () => { throw new Error('sync'); })).toThrow('sync');
    expect(p.names).toEqual(['identify', 'forward', 'step_up']);
    expect([p.times[2], p.times[5], p.times[8]]).toEqual([0, 1, 1]);
    expect(p.times.filter((_, i) => i % 3 === 1).every((end) => !Number.isNaN(end))).toBe(true);
  });

  it('phased() without tracing just runs the function', async () => {
    await expect(phased(undefined, 'identify', async () => 'ok')).resolves.toBe('ok');
  });
});
