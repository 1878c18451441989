import { describe, expect, it } from 'vitest';
import { isoTimeFormatter } from '../../src/iso-time.js';

describe('isoTimeFormatter', () => {
  it('writes what Date#toISOString writes, within a second, across seconds and back in time', () => {
    const iso = isoTimeFormatter();
    const base = Date.UTC(2026, 11, 2, 23, 59, 59, 0);
    const times = [base, base + 1, base + 9, base + 10, base + 99, base + 100, base + 999, base + 1000, base + 1005, base - 1, base - 1000, 0, 1, 999, 1000, 86_400_000 * 365 * 30 + 7];
    for (const ms of times) expect(iso(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('hands times outside four-digit years and fractional times to Date', () => {
    const iso = isoTimeFormatter();
    for (const ms of [-1, -86_400_001, 253402300800000, 8.64e15, 1.5, 1764719999999.9]) expect(iso(ms), String(ms)).toBe(new Date(ms).toISOString());
    expect(() => iso(Number.NaN)).toThrow(RangeError);
  });

  it('agrees with Date over a run of random times', () => {
    const iso = isoTimeFormatter();
    let ms = Date.UTC(2025, 0, 1);
    for (let i = 0; i < 20_000; i++) {
      ms += Math.floor(Math.random() * 1500);
      expect(iso(ms)).toBe(new Date(ms).toISOString());
    }
  });
});
