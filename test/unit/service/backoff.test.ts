// Delays of the control-plane clients (bundle server, log collector): OPA's backoff shape with
// ±20 % jitter, a uniform polling interval, and the bearer header read per request. The random
// source is injected, so the bounds are exact.

import { describe, expect, it } from 'vitest';
import { backoffDelay, bearerHeader, jitteredDelay, nextDelay } from '../../../src/service/backoff.js';

describe('backoffDelay', () => {
  it.each([
    // base 100 ms × 1.6^retries, capped at 1 s; random 0.5 is the middle of the jitter
    [0, 0.5, 100],
    [1, 0.5, 160],
    [2, 0.5, 256],
    [4, 0.5, 655],
    [5, 0.5, 1000],
    [50, 0.5, 1000],
    // the jitter's ends: ×0.8 and ×1.2 (the cap applies before the jitter)
    [0, 0, 80],
    [0, 1, 120],
    [9, 0, 800],
    [9, 1, 1200],
  ])('retry %i with random %d waits %i ms', (retries, r, expected) => {
    expect(backoffDelay(100, 1000, retries, () => r)).toBe(expected);
  });

  it('never waits less than nothing', () => {
    expect(backoffDelay(0, 0, 3, () => 0)).toBe(0);
  });
});

describe('jitteredDelay', () => {
  it.each([
    [0, 10_000],
    [0.25, 12_500],
    [1, 20_000],
  ])('random %d between 10 s and 20 s is %i ms', (r, expected) => {
    expect(jitteredDelay(10_000, 20_000, () => r)).toBe(expected);
  });

  it('a max below the min is the min', () => {
    expect(jitteredDelay(500, 100, () => 1)).toBe(500);
  });
});

describe('nextDelay', () => {
  it('polls within [min, max] while healthy, and backs off from the retry base after failures, capped at max', () => {
    for (let i = 0; i < 200; i++) {
      const healthy = nextDelay(1_000, 2_000, 250, 0);
      expect(healthy).toBeGreaterThanOrEqual(1_000);
      expect(healthy).toBeLessThanOrEqual(2_000);
      const first = nextDelay(1_000, 2_000, 250, 1);
      expect(first).toBeGreaterThanOrEqual(200);
      expect(first).toBeLessThanOrEqual(300);
      const many = nextDelay(1_000, 2_000, 250, 30);
      expect(many).toBeGreaterThanOrEqual(1_600);
      expect(many).toBeLessThanOrEqual(2_400);
    }
  });
});

describe('bearerHeader', () => {
  it('reads the token on each call (a rotated file applies at once), and sends nothing without one', () => {
    let token = 'v1';
    const read = (): string => token;
    expect(bearerHeader(read)).toEqual({ authorization: 'Bearer v1' });
    token = 'v2';
    expect(bearerHeader(read)).toEqual({ authorization: 'Bearer v2' });
    expect(bearerHeader(undefined)).toEqual({});
  });
});
