import { describe, expect, it } from 'vitest';
import { REDACTED, applyMasks, compileMasks } from '../../../src/audit/mask.js';

describe('applyMasks', () => {
  const input = { request: { body: { password: 'p', user: 'u' }, path: '/x' }, task: { id: 't' } };

  it('replaces masked paths and copies only what it changes', () => {
    const out = applyMasks(input, compileMasks(['input.request.body.password', 'input.nothing.here']));
    expect(out).toEqual({ request: { body: { password: REDACTED, user: 'u' }, path: '/x' }, task: { id: 't' } });
    expect(input.request.body.password).toBe('p');
    expect(out.task).toBe(input.task);
  });

  it('returns the same object when nothing matches', () => {
    expect(applyMasks(input, compileMasks(['input.request.body.token']))).toBe(input);
  });
});
