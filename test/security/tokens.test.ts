// Task tokens (src/identity/authenticator.ts): only a verified bearer token from the configured
// header identifies the caller; anything else is 401 with the RFC 6750 challenge and never reaches
// the upstream. Tokens come from the admin API (`w.task()`), so the forgeries below start from a
// real, valid token.
//
// Each test fails if its defence goes: reading `?access_token=` as a fallback would let the
// query-string token through; skipping signature verification (or trusting the cached claims of
// another token) would let the tampered payload through; accepting the `alg` the token names
// would let `alg: none` through. The control shows the same call passes with the real token.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { closeAll, startProxyPair } from '../helpers/proxy-pair.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { WardenHandle } from '../helpers/warden.js';

process.env.SEC_TOK_READ = 'sec-tok-read-secret';

let github: TestUpstream;
let w: WardenHandle;
let task: { task_id: string; token: string };
let other: { task_id: string; token: string };

beforeAll(async () => {
  ({ upstream: github, w, task } = await startProxyPair({ name: 'github', upstream: { lanes: bearerLanes({ read: 'SEC_TOK_READ' }) } }));
  other = await w.task({ agent: 'agent-2', user: { id: 'mallory', roles: ['developer'] } });
});
afterAll(() => closeAll(w, github));

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const decode = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

async function expect401(init: { path?: string; headers?: Record<string, string> }, challenge: RegExp): Promise<void> {
  const before = github.seen.length;
  const res = await fetch(`${w.proxyUrl}${init.path ?? '/github/repos/acme/app'}`, { headers: init.headers ?? {} });
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toMatch(challenge);
  const body = (await res.json()) as { error: string };
  expect(body.error).toMatch(/^TOKEN_/);
  expect(github.seen.length).toBe(before);
}

const INVALID = /^Bearer realm="warden", error="invalid_token"/;

describe('task tokens', () => {
  it('accepts the real token (control)', async () => {
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app`, { headers: { authorization: `Bearer ${task.token}` } });
    expect(res.status).toBe(200);
  });

  it('401s a request without a token, not forwarded', async () => {
    await expect401({}, /^Bearer realm="warden"$/);
  });

  it('401s a token sent in the query string (?access_token=) instead of the header, not forwarded', async () => {
    await expect401({ path: `/github/repos/acme/app?access_token=${task.token}` }, /^Bearer realm="warden"$/);
    expect(github.seen.some((s) => s.url.includes(task.token))).toBe(false);
  });

  it('401s a token whose payload was tampered (task and agent swapped to another task\'s), keeping the signature', async () => {
    const [h, p, s] = task.token.split('.') as [string, string, string];
    const claims = decode(p);
    // Coherent claims of a live task: only the signature can tell that this token is forged.
    const forged = `${h}.${b64url({ ...claims, tid: other.task_id, sub: 'agent-2' })}.${s}`;
    await expect401({ headers: { authorization: `Bearer ${forged}` } }, INVALID);
  });

  it('401s a token whose expiry was extended in the payload', async () => {
    const [h, p, s] = task.token.split('.') as [string, string, string];
    const claims = decode(p);
    const forged = `${h}.${b64url({ ...claims, exp: (claims.exp as number) + 86_400 })}.${s}`;
    await expect401({ headers: { authorization: `Bearer ${forged}` } }, INVALID);
  });

  it('401s an unsigned token (alg: none) carrying valid claims', async () => {
    const [, p] = task.token.split('.') as [string, string, string];
    const header = decode(task.token.split('.')[0]!);
    for (const alg of ['none', 'None', 'NONE']) {
      await expect401({ headers: { authorization: `Bearer ${b64url({ ...header, alg })}.${p}.` } }, INVALID);
    }
  });

  it('401s a token whose header names a different algorithm (HS256 with the public key confusion)', async () => {
    const [, p, s] = task.token.split('.') as [string, string, string];
    const header = decode(task.token.split('.')[0]!);
    await expect401({ headers: { authorization: `Bearer ${b64url({ ...header, alg: 'HS256' })}.${p}.${s}` } }, INVALID);
  });

  it('401s a token whose signature belongs to another token', async () => {
    const [h, p] = task.token.split('.') as [string, string, string];
    const s2 = other.token.split('.')[2]!;
    await expect401({ headers: { authorization: `Bearer ${h}.${p}.${s2}` } }, INVALID);
  });

  it('401s a revoked task\'s token, even one verified (and cached) before', async () => {
    const t = await w.task();
    const ok = await fetch(`${w.proxyUrl}/github/repos/acme/app`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(ok.status).toBe(200);
    expect((await w.admin('DELETE', `/v1/tasks/${t.task_id}`)).status).toBeLessThan(300);
    await expect401({ headers: { authorization: `Bearer ${t.token}` } }, INVALID);
  });
});
