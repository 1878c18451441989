import { describe, expect, it } from 'vitest';
import { ConsoleSessions } from '../../../src/console/sessions.js';

function setup(over: { maxSignedIn?: number; maxAnonymous?: number } = {}) {
  const clock = { now: 1_000_000 };
  const sessions = new ConsoleSessions({ ttl: 60 * 60_000, idle: 10 * 60_000, now: () => clock.now, ...over });
  return { clock, sessions };
}

describe('ConsoleSessions', () => {
  it('gives random 256-bit ids and CSRF tokens, different for every session', () => {
    const { sessions } = setup();
    const a = sessions.signIn('alice', undefined);
    const b = sessions.signIn('alice', undefined);
    for (const v of [a.id, a.csrf, b.id, b.csrf]) expect(v).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([a.id, a.csrf, b.id, b.csrf]).size).toBe(4);
  });

  it('signing in ends the anonymous session it replaces', () => {
    const { sessions } = setup();
    const anon = sessions.anonymous();
    expect(sessions.get(anon.id)).toBe(anon);
    const s = sessions.signIn('alice', anon);
    expect(sessions.get(anon.id)).toBeUndefined();
    expect(sessions.get(s.id)?.approver).toBe('alice');
  });

  it('ends a session unused for the idle time, and any session at its absolute expiry', () => {
    const { sessions, clock } = setup();
    const idle = sessions.signIn('alice', undefined);
    const busy = sessions.signIn('bob', undefined);
    for (let i = 0; i < 5; i++) {
      clock.now += 9 * 60_000;
      expect(sessions.get(busy.id)).toBe(busy);
    }
    expect(sessions.get(idle.id)).toBeUndefined();
    clock.now += 9 * 60_000;
    expect(sessions.get(busy.id)).toBe(busy);
    clock.now += 9 * 60_000; // 63 minutes after sign-in: past the one-hour ttl
    expect(sessions.get(busy.id)).toBeUndefined();
  });

  it('anonymous sessions last 15 minutes at most', () => {
    const { sessions, clock } = setup();
    const anon = sessions.anonymous();
    expect(sessions.maxAgeSeconds(anon)).toBe(900);
    clock.now += 8 * 60_000;
    expect(sessions.get(anon.id)).toBe(anon);
    clock.now += 8 * 60_000;
    expect(sessions.get(anon.id)).toBeUndefined();
  });

  it('keeps at most the configured number of sessions, dropping the oldest; a flood of anonymous ones spares signed-in ones', () => {
    const { sessions } = setup({ maxSignedIn: 2, maxAnonymous: 3 });
    const first = sessions.signIn('alice', undefined);
    const second = sessions.signIn('bob', undefined);
    for (let i = 0; i < 50; i++) sessions.anonymous();
    expect(sessions.get(first.id)).toBe(first);
    sessions.signIn('carol', undefined);
    expect(sessions.get(first.id)).toBeUndefined();
    expect(sessions.get(second.id)).toBe(second);
  });

  it('knows nothing of unknown, empty or ended ids', () => {
    const { sessions } = setup();
    const s = sessions.signIn('alice', undefined);
    expect(sessions.get(undefined)).toBeUndefined();
    expect(sessions.get('')).toBeUndefined();
    expect(sessions.get(`${s.id}x`)).toBeUndefined();
    sessions.end(s);
    expect(sessions.get(s.id)).toBeUndefined();
  });
});
