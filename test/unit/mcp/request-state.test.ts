import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isWardenRequestState, openRequestState, sealRequestState } from '../../../src/mcp/request-state.js';

const key = randomBytes(32);
const claims = { task: 't1', call: 'sha256:abc', approval: 'ap1', exp: 2_000, inner: 'server-state' };

describe('requestState', () => {
  it('round-trips its claims', () => {
    const s = sealRequestState(key, claims);
    expect(isWardenRequestState(s)).toBe(true);
    expect(openRequestState(key, s, 1_000)).toEqual({ ok: true, claims });
  });
  it('refuses a state sealed with another key', () => {
    expect(openRequestState(randomBytes(32), sealRequestState(key, claims), 1_000)).toEqual({ ok: false, why: 'forged' });
  });
  it('refuses edited claims (another approval or call under the old MAC)', () => {
    const s = sealRequestState(key, claims);
    const [, payload, sig] = s.split('.');
    const edited = Buffer.from(JSON.stringify({ ...claims, approval: 'ap2' })).toString('base64url');
    expect(payload).not.toBe(edited);
    expect(openRequestState(key, `warden1.${edited}.${sig}`, 1_000)).toEqual({ ok: false, why: 'forged' });
  });
  it('refuses an expired state', () => {
    expect(openRequestState(key, sealRequestState(key, claims), 2_000)).toEqual({ ok: false, why: 'expired' });
  });
  it.each(['', 'server-state', 'warden1.', 'warden1.a', 'warden1.a.b.c', 'warden1.%%%.x'])('refuses malformed %j', (s) => {
    expect(openRequestState(key, s, 0).ok).toBe(false);
  });
  it('keeps the continuation mark of a server round, and refuses any other value there', () => {
    const round = { ...claims, continuation: true as const };
    expect(openRequestState(key, sealRequestState(key, round), 1_000)).toEqual({ ok: true, claims: round });
    expect(openRequestState(key, sealRequestState(key, { ...claims, continuation: 'yes' } as never), 1_000)).toEqual({ ok: false, why: 'malformed' });
  });
  it('refuses a well-signed payload that lacks the claims', () => {
    const s = sealRequestState(key, { task: 't' } as never);
    expect(openRequestState(key, s, 0)).toEqual({ ok: false, why: 'malformed' });
  });
});
