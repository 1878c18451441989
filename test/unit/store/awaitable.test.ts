import { describe, expect, it } from 'vitest';
import { andThen, isPromise } from '../../../src/store/awaitable.js';

describe('andThen', () => {
  it('applies the function at once to a plain value (no promise, no microtask)', () => {
    const out = andThen(2, (n) => n * 3);
    expect(out).toBe(6);
    expect(isPromise(out)).toBe(false);
  });

  it('chains on a promise', async () => {
    const out = andThen(Promise.resolve(2), (n) => n * 3);
    expect(isPromise(out)).toBe(true);
    expect(await out).toBe(6);
  });

  it('lets a throw of the function escape synchronously for a plain value', () => {
    expect(() => andThen(1, () => { throw new Error('boom'); })).toThrow('boom');
  });

  it('tells promises from values, undefined and null included', () => {
    expect([isPromise(undefined), isPromise(null), isPromise(0), isPromise({ then: 1 }), isPromise(Promise.resolve())]).toEqual([false, false, false, false, true]);
  });
});
