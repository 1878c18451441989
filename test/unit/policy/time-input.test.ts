import { describe, expect, it } from 'vitest';
import { timeInput } from '../../../src/policy/types.js';

describe('timeInput', () => {
  it('gives the moment in ns and as RFC 3339 text, each time for the time asked', () => {
    const a = Date.UTC(2026, 11, 2, 13, 0, 0, 1);
    // The text is kept per millisecond: a repeated time gives the same text, the next one its own.
    for (const ms of [a, a, a + 1, a, a + 86_400_000]) {
      expect(timeInput(ms)).toEqual({ now_ns: ms * 1_000_000, rfc3339: new Date(ms).toISOString() });
    }
  });
});
