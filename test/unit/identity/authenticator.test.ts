// Task tokens through the Authenticator: every refusal of the issue, and the store read per request.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, base64url, generateKeyPair, importPKCS8, type CryptoKey, type JWTPayload } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { Authenticator } from '../../../src/identity/authenticator.js';
import { GENERATED_KEY_FILE, TaskTokens } from '../../../src/identity/task-tokens.js';
import { openDatabase } from '../../../src/store/sqlite/database.js';
import { TaskService } from '../../../src/tasks/task-service.js';
import { SqliteTaskStore } from '../../../src/store/sqlite/task-store.js';
import { makeConfig, tempDir } from './fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

const taskBody = { agent: 'agent-1', user: { id: 'u-1', role: 'dev' }, stage: 'plan', risk: 'low', scopes: ['repo:read'], ttl: '10m' };

async function setup(raw: Record<string, unknown> = {}) {
  const dir = tempDir((f) => cleanups.push(f));
  const config = makeConfig(dir, raw);
  const db = openDatabase(dir);
  cleanups.push(() => db.close());
  const clock = { now: Date.now() };
  const now = () => clock.now;
  const store = new SqliteTaskStore(db);
  const tokens = await TaskTokens.create(config);
  const service = new TaskService(config, { tasks: store, usage: store }, tokens, { now });
  const auth = await Authenticator.create(config, { tasks: store, usage: store }, { tokens, now });
  const signingKey = await importPKCS8(readFileSync(join(dir, GENERATED_KEY_FILE), 'utf8'), 'EdDSA');
  const { task_id, token } = await service.create(taskBody);
  /** A token signed with Warden's own key but with claims and header of the test's choosing. */
  const forge = (claims: JWTPayload, key: CryptoKey = signingKey, alg = 'EdDSA') => {
    const iat = Math.floor(clock.now / 1000);
    const base = { iss: 'warden', aud: 'warden', sub: 'agent-1', tid: task_id, iat, nbf: iat, exp: iat + 600, jti: 'j' };
    return new SignJWT({ ...base, ...claims }).setProtectedHeader({ alg, kid: tokens.kid }).sign(key);
  };
  const call = (t: string, scheme = 'Bearer') => auth.authenticate({ authorization: `${scheme} ${t}` });
  return { service, store, auth, clock, task_id, token, forge, call };
}

describe('Authenticator with task tokens', () => {
  it('accepts a valid task token and builds agent and task from the store', async () => {
    const { call, token, task_id } = await setup();
    const p = await call(token);
    expect(p.taskId).toBe(task_id);
    expect(p.agent).toMatchObject({ id: 'agent-1', issuer: 'warden', claims: { sub: 'agent-1', tid: task_id } });
    expect(p.task).toEqual({
      id: task_id,
      stage: 'plan',
      risk: 'low',
      user: { id: 'u-1', role: 'dev' },
      scopes: ['repo:read'],
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
      usage: { calls: 0, stage_calls: 0 },
    });
    expect(JSON.stringify(p)).not.toContain(token);
  });

  it('takes the Bearer scheme in any case, and a repeated request from the cache', async () => {
    const { call, token, task_id } = await setup();
    for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) await expect(call(token, scheme)).resolves.toMatchObject({ agent: { id: 'agent-1' }, task: { id: task_id }, taskId: task_id });
  });

  it('takes from the cache only the very header that was verified: a token changed before its signature is refused', async () => {
    const { call, token, task_id } = await setup();
    await expect(call(token)).resolves.toMatchObject({ taskId: task_id });
    // Same signature (the cache key's characters), one character of the payload changed.
    const [head, payload, sig] = token.split('.') as [string, string, string];
    const i = payload.length >> 1;
    const tampered = `${head}.${payload.slice(0, i)}${payload[i] === 'A' ? 'B' : 'A'}${payload.slice(i + 1)}.${sig}`;
    await expect(call(tampered)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    // Other whitespace around the same token is the same token.
    await expect(call(`${token}  `, 'Bearer\t')).resolves.toMatchObject({ taskId: task_id });
    await expect(call(token)).resolves.toMatchObject({ taskId: task_id });
  });

  it('reads the token from a custom identity.header', async () => {
    const { auth, token } = await setup({ identity: { header: 'X-Warden-Token' } });
    await expect(auth.authenticate({ 'x-warden-token': token })).resolves.toMatchObject({ agent: { id: 'agent-1' } });
    await expect(auth.authenticate({ authorization: `Bearer ${token}` })).rejects.toMatchObject({ code: 'TOKEN_MISSING' });
  });

  it.each([
    [{}, 'TOKEN_MISSING'],
    [{ authorization: '' }, 'TOKEN_MISSING'],
    [{ authorization: 'Basic dXNlcjpwYXNz' }, 'TOKEN_MISSING'],
    [{ authorization: 'Bearer not-a-jwt' }, 'TOKEN_INVALID'],
    [{ authorization: 'Bearer a.b.c' }, 'TOKEN_INVALID'],
  ])('refuses headers %j with %s', async (headers, code) => {
    const { auth } = await setup();
    await expect(auth.authenticate(headers)).rejects.toMatchObject({ code, status: 401 });
  });

  it('refuses alg none before any verification', async () => {
    const { call, task_id } = await setup();
    const enc = (o: object) => base64url.encode(JSON.stringify(o));
    const now = Math.floor(Date.now() / 1000);
    const payload = enc({ iss: 'warden', aud: 'warden', sub: 'agent-1', tid: task_id, iat: now, nbf: now, exp: now + 60, jti: 'x' });
    for (const alg of ['none', 'None', 'NONE']) {
      await expect(call(`${enc({ alg, typ: 'JWT' })}.${payload}.`)).rejects.toMatchObject({ code: 'TOKEN_INVALID', detail: expect.stringContaining('never accepted') });
    }
  });

  it('refuses a token signed by an unknown key, and another algorithm', async () => {
    const { call, forge } = await setup();
    const other = await generateKeyPair('EdDSA');
    await expect(call(await forge({}, other.privateKey))).rejects.toMatchObject({ code: 'TOKEN_INVALID', detail: expect.stringContaining('signature') });
    const es = await generateKeyPair('ES256');
    await expect(call(await forge({}, es.privateKey, 'ES256'))).rejects.toMatchObject({ code: 'TOKEN_INVALID', detail: expect.stringContaining('algorithm ES256') });
  });

  it('refuses a tampered payload', async () => {
    const { call, token } = await setup();
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p!)));
    const tampered = base64url.encode(JSON.stringify({ ...claims, sub: 'agent-2', exp: claims.exp + 3600 }));
    await expect(call(`${h}.${tampered}.${s}`)).rejects.toMatchObject({ code: 'TOKEN_INVALID', detail: expect.stringContaining('signature') });
  });

  it.each([
    [{ aud: 'someone-else' }, 'claim aud'],
    [{ nbf: Math.floor(Date.now() / 1000) + 300 }, 'claim nbf'],
    [{ exp: Math.floor(Date.now() / 1000) + 9 * 3600 }, 'lifetime'],
    [{ iss: 'https://unknown.example' }, 'unknown issuer'],
    [{ sub: 'agent-2' }, 'sub does not match'],
  ])('refuses a signed token with %j (%s)', async (claims, detail) => {
    const { call, forge } = await setup();
    await expect(call(await forge(claims))).rejects.toMatchObject({ code: 'TOKEN_INVALID', detail: expect.stringContaining(detail) });
  });

  it('answers TOKEN_EXPIRED after exp plus clock skew, cached or not', async () => {
    const { call, token, clock, forge } = await setup();
    const fresh = await forge({});
    await call(token); // now in the verified cache
    clock.now += 10 * 60_000 + 31_000;
    await expect(call(token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
    await expect(call(fresh)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('tolerates clock skew on nbf', async () => {
    const { call, forge, task_id } = await setup();
    await expect(call(await forge({ nbf: Math.floor(Date.now() / 1000) + 20 }))).resolves.toMatchObject({ agent: { id: 'agent-1' }, taskId: task_id });
  });

  it('answers TOKEN_REVOKED on the next request after a revoke, and for an unknown task', async () => {
    const { call, token, service, task_id, forge } = await setup();
    await call(token);
    await service.revoke(task_id);
    await expect(call(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    await expect(call(await forge({ tid: 'no-such-task' }))).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
  });

  it('shows a stage change and the usage counters on the next request', async () => {
    const { call, token, service, task_id } = await setup();
    expect((await call(token)).task?.stage).toBe('plan');
    service.recordCall(task_id, 'plan');
    service.recordCall(task_id, 'plan');
    await service.patch(task_id, { stage: 'execute', risk: 'high' });
    expect((await call(token)).task).toMatchObject({ stage: 'execute', risk: 'high', usage: { calls: 2, stage_calls: 0 } });
    service.recordCall(task_id, 'execute');
    expect((await call(token)).task?.usage).toEqual({ calls: 3, stage_calls: 1 });
  });

  it('keeps working when the verified-token cache is full', async () => {
    const { call, forge, task_id } = await setup();
    const many = await Promise.all(Array.from({ length: 5 }, (_, i) => forge({ jti: `j${i}` })));
    for (const t of [...many, ...many]) await expect(call(t)).resolves.toMatchObject({ agent: { id: 'agent-1', claims: { jti: expect.stringMatching(/^j\d$/) } }, taskId: task_id });
  });
});
