// Task tokens end to end: a running Warden, a real upstream, tokens minted by the admin API and,
// for the refusals, tokens the test signs itself. Warden's task-signing key is a PKCS#8 PEM the
// test generates and configures as identity.task_tokens.key_file, so the test can sign tokens
// with Warden's own key (expired, not yet valid, wrong aud, ...) for a real task id.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, base64url, exportPKCS8, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { compilePolicy } from '../helpers/policy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startWarden, tempDir, type WardenHandle } from '../helpers/warden.js';
import { testClock } from '../helpers/wait.js';

process.env.TEST_TASKS_READ = 'tasks-read-secret';
process.env.TEST_TASKS_WRITE = 'tasks-write-secret';
process.env.TEST_TASKS_ESC = 'tasks-escalation-secret';

const lanes = bearerLanes({ read: 'TEST_TASKS_READ', write: 'TEST_TASKS_WRITE', escalation: 'TEST_TASKS_ESC' });

let github: TestUpstream;
let w: WardenHandle;
let signingKey: CryptoKey;

/** Warden's identity clock: a test moves it past a task's end. */
const clock = testClock();

beforeAll(async () => {
  github = await startUpstream();
  const dir = tempDir('warden-tasks-');
  const pair = await generateKeyPair('EdDSA', { extractable: true });
  signingKey = pair.privateKey;
  const keyFile = join(dir, 'task-key.pem');
  writeFileSync(keyFile, await exportPKCS8(pair.privateKey), { mode: 0o600 });
  w = await startWarden({
    dir,
    now: clock.now,
    upstreams: { github: { prefix: '/github', url: github.url, lanes } },
    config: {
      identity: { task_tokens: { key_file: keyFile } },
      tasks: { transitions: { plan: ['execute'], execute: ['review'], review: ['done'] } },
    },
  });
});
afterAll(async () => {
  await w?.close();
  await github?.close();
});

const get = (token: string, path = '/github/repos/acme/app', headers: Record<string, string> = {}) =>
  fetch(`${w.proxyUrl}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
const post = (token: string, path = '/github/repos/acme/app/issues') =>
  fetch(`${w.proxyUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'x' }) });

/** A task token for `tid` signed with Warden's own key, with the claims and header the test picks. */
function mint(tid: string, claims: JWTPayload = {}, opts: { key?: CryptoKey; alg?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const base = { iss: 'warden', aud: 'warden', sub: 'agent-1', tid, iat: now, nbf: now, exp: now + 600, jti: crypto.randomUUID() };
  return new SignJWT({ ...base, ...claims }).setProtectedHeader({ alg: opts.alg ?? 'EdDSA', typ: 'JWT' }).sign(opts.key ?? signingKey);
}

/** Sends the token and checks the RFC 6750 invalid_token answer and that nothing was forwarded. */
async function expectRefused(token: string, path?: string): Promise<Response> {
  const before = github.seen.length;
  const res = await get(token, path);
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="warden", error="invalid_token"/);
  const body = await res.json();
  expect(body.error).toMatch(/^TOKEN_/);
  expect(body.decision_id).toBe(res.headers.get('warden-decision-id'));
  expect(github.seen.length).toBe(before);
  return res;
}

describe('task tokens', () => {
  it('a valid task token passes, and input.agent / input.task come from the store', async () => {
    const user = { id: 'alice', roles: ['developer'], team: 'platform' };
    const t = await w.task({ user, stage: 'execute', risk: 'medium', scopes: ['github:write', 'extra'] });
    // The minted token itself verifies with the configured key.
    const first = await get(t.token);
    expect(first.status).toBe(200);
    // Headers the agent sends cannot set or change the task or agent.
    const res = await get(t.token, '/github/repos/acme/app', { 'x-warden-stage': 'plan', 'x-task-id': 'other', 'x-agent-id': 'root', 'x-warden-task': '{"stage":"plan"}' });
    expect(res.status).toBe(200);
    const seen = github.seen.at(-1)!;
    expect(seen.url).toBe('/repos/acme/app');
    expect(seen.headers.authorization).toBe('Bearer tasks-read-secret');
    expect(seen.headers['x-warden-stage']).toBe('execute');
    expect(JSON.stringify(seen.headers)).not.toContain(t.token);

    const line = await w.decisionFor(res.headers.get('warden-decision-id'));
    expect(line).toMatchObject({ outcome: 'allow', lane: 'read', agent: 'agent-1', task: t.task_id, stage: 'execute', status: 200 });
    const input = line.input as any;
    expect(input.agent).toMatchObject({ id: 'agent-1', issuer: 'warden', claims: { sub: 'agent-1', tid: t.task_id, iss: 'warden', aud: 'warden' } });
    expect(input.task).toEqual({ id: t.task_id, stage: 'execute', risk: 'medium', user, scopes: ['github:write', 'extra'], expires_at: t.expires_at, usage: { calls: 1, stage_calls: 1 } });
    expect(input.request.headers.authorization).toBeUndefined();
    expect(JSON.stringify(line)).not.toContain(t.token);
  });

  it('refuses an alg:none token with 401 invalid_token and never forwards it', async () => {
    const t = await w.task();
    const [, payload] = t.token.split('.');
    for (const alg of ['none', 'None']) {
      const header = base64url.encode(JSON.stringify({ alg, typ: 'JWT' }));
      await expectRefused(`${header}.${payload}.`);
    }
    // An alg:none token with the real signature appended is refused as well.
    const [, p, s] = t.token.split('.');
    await expectRefused(`${base64url.encode(JSON.stringify({ alg: 'none' }))}.${p}.${s}`);
  });

  it('refuses a token signed by an unknown key', async () => {
    const t = await w.task();
    const other = await generateKeyPair('EdDSA');
    await expectRefused(await mint(t.task_id, {}, { key: other.privateKey }));
    // Another algorithm with a key of its own.
    const es = await generateKeyPair('ES256');
    await expectRefused(await mint(t.task_id, {}, { key: es.privateKey, alg: 'ES256' }));
  });

  it('refuses a tampered payload (tid or stage changed, signature kept)', async () => {
    const mine = await w.task({ stage: 'plan' });
    const target = await w.task({ stage: 'execute' });
    const [h, p, s] = mine.token.split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p!)));
    for (const change of [{ tid: target.task_id }, { stage: 'execute' }, { sub: 'agent-2' }, { exp: claims.exp + 3600 }]) {
      const tampered = base64url.encode(JSON.stringify({ ...claims, ...change }));
      await expectRefused(`${h}.${tampered}.${s}`);
    }
    // The untampered token still works (plan allows reads).
    expect((await get(mine.token)).status).toBe(200);
  });

  it('refuses a wrong aud and a wrong iss', async () => {
    const t = await w.task();
    await expectRefused(await mint(t.task_id, { aud: 'someone-else' }));
    await expectRefused(await mint(t.task_id, { aud: ['someone-else', 'another'] }));
    await expectRefused(await mint(t.task_id, { iss: 'https://not-warden.example' }));
    // Control: the same minting with the right claims passes.
    expect((await get(await mint(t.task_id))).status).toBe(200);
  });

  it('refuses expired and not-yet-valid tokens', async () => {
    const t = await w.task();
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await mint(t.task_id, { iat: now - 700, nbf: now - 700, exp: now - 100 }));
    await expectRefused(await mint(t.task_id, { iat: now + 300, nbf: now + 300, exp: now + 900 }));
    await expectRefused(await mint(t.task_id, { nbf: now + 300 }));
    // Longer than identity.task_tokens.max_ttl (8h).
    await expectRefused(await mint(t.task_id, { exp: now + 9 * 3600 }));
    // A task ends on its own: a token that passed (and is cached as verified) stops at expiry.
    const short = await w.task({ ttl: 3 });
    expect((await get(short.token)).status).toBe(200);
    // The identity clock moves to the task's end instead of the test sleeping for its ttl.
    clock.advance(Date.parse(short.expires_at) - clock.now());
    const ended = await expectRefused(short.token);
    expect(ended.headers.get('www-authenticate')).toBe('Bearer realm="warden", error="invalid_token", error_description="the task of this token was revoked or has ended"');
  });

  it('refuses malformed and missing tokens', async () => {
    const before = github.seen.length;
    const none = await fetch(`${w.proxyUrl}/github/repos/acme/app`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="warden"');
    await expectRefused('not-a-jwt');
    await expectRefused('a.b.c');
    expect(github.seen.length).toBe(before);
  });

  it('a revoked task is refused on the next request', async () => {
    const t = await w.task();
    expect((await get(t.token)).status).toBe(200);
    const del = await w.admin('DELETE', `/v1/tasks/${t.task_id}`);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ task_id: t.task_id, revoked_at: expect.any(String) });
    const res = await expectRefused(t.token);
    expect((await w.admin('GET', `/v1/tasks/${t.task_id}`)).body.status).toBe('revoked');
    const line = await w.decisionFor(res.headers.get('warden-decision-id'));
    expect(line).toMatchObject({ outcome: 'error', error: 'TOKEN_REVOKED', status: 401 });
    // A new token minted for the revoked task id is refused too.
    await expectRefused(await mint(t.task_id));
    // Revoking again is idempotent; a stage move of a revoked task is refused.
    expect((await w.admin('DELETE', `/v1/tasks/${t.task_id}`)).status).toBe(200);
    expect((await w.admin('PATCH', `/v1/tasks/${t.task_id}`, { stage: 'review' })).status).toBe(409);
  });

  it('a stage change takes effect on the next request', async () => {
    const t = await w.task({ stage: 'plan' });
    const before = github.seen.length;
    const denied = await post(t.token);
    expect(denied.status).toBe(403);
    expect((await denied.json()).reason).toMatch(/execute/);
    expect(github.seen.length).toBe(before);

    const patched = await w.admin('PATCH', `/v1/tasks/${t.task_id}`, { stage: 'execute' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ task_id: t.task_id, stage: 'execute', status: 'active' });

    const allowed = await post(t.token);
    expect(allowed.status).toBe(200);
    expect(github.seen.length).toBe(before + 1);
    expect(github.seen.at(-1)!.headers.authorization).toBe('Bearer tasks-write-secret');
    const line = await w.decisionFor(allowed.headers.get('warden-decision-id'));
    expect(line).toMatchObject({ stage: 'execute', lane: 'write' });
    expect((line.input as any).task.stage).toBe('execute');

    // A risk raise applies at once as well: high-risk tasks never write.
    expect((await w.admin('PATCH', `/v1/tasks/${t.task_id}`, { risk: 'high' })).status).toBe(200);
    expect((await post(t.token)).status).toBe(403);
  });

  it('refuses a stage transition outside tasks.transitions with 409', async () => {
    const t = await w.task({ stage: 'plan' });
    const skip = await w.admin('PATCH', `/v1/tasks/${t.task_id}`, { stage: 'done' });
    expect(skip.status).toBe(409);
    expect(skip.body.error).toBe('TASK_TRANSITION_REFUSED');
    expect((await w.admin('GET', `/v1/tasks/${t.task_id}`)).body.stage).toBe('plan');
    expect((await w.admin('PATCH', `/v1/tasks/${t.task_id}`, { stage: 'execute' })).status).toBe(200);
    const back = await w.admin('PATCH', `/v1/tasks/${t.task_id}`, { stage: 'plan' });
    expect(back.status).toBe(409);
    // The refused move changed nothing: a write still passes in execute.
    expect((await post(t.token)).status).toBe(200);
    // An unknown stage is a bad request, not a transition.
    expect((await w.admin('PATCH', `/v1/tasks/${t.task_id}`, { stage: 'deploy' })).status).toBe(400);
  });
});

describe('usage counters', () => {
  let up: TestUpstream;
  let w2: WardenHandle;

  beforeAll(async () => {
    up = await startUpstream();
    const bundle = await compilePolicy(`package warden
import rego.v1

default decision := {"decision": "deny", "reason": "no task", "lane": "", "headers": {}}

decision := {"decision": "deny", "reason": "call cap reached", "lane": "", "headers": {}} if {
	input.task.usage.calls >= 2
} else := {"decision": "deny", "reason": "stage cap reached", "lane": "", "headers": {}} if {
	input.task.usage.stage_calls >= 1
	input.task.stage == "review"
} else := {"decision": "allow", "reason": "under the cap", "lane": "read", "headers": {}} if {
	is_object(input.task)
}
`);
    w2 = await startWarden({ bundle, upstreams: { api: { prefix: '/api', url: up.url, lanes: { read: lanes.read } } } });
  });
  afterAll(async () => {
    await w2?.close();
    await up?.close();
  });

  it('a policy capping calls per task denies the third call with 403', async () => {
    const t = await w2.task();
    const call = () => fetch(`${w2.proxyUrl}/api/items`, { headers: { authorization: `Bearer ${t.token}` } });
    const statuses: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await call();
      statuses.push(res.status);
      ids.push(res.headers.get('warden-decision-id')!);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 403, 403]);
    expect(up.seen.filter((s) => s.url === '/items')).toHaveLength(2);
    const usage = await Promise.all(ids.map(async (id) => (await w2.decisionFor(id)).input.task.usage));
    // Denied calls are not counted: only forwarded calls are.
    expect(usage).toEqual([{ calls: 0, stage_calls: 0 }, { calls: 1, stage_calls: 1 }, { calls: 2, stage_calls: 2 }, { calls: 2, stage_calls: 2 }]);
    expect((await w2.admin('GET', `/v1/tasks/${t.task_id}`)).body.usage).toEqual({ calls: 2, stage_calls: 2 });
    // Another task has its own counter.
    const other = await w2.task();
    expect((await fetch(`${w2.proxyUrl}/api/items`, { headers: { authorization: `Bearer ${other.token}` } })).status).toBe(200);
  });

  it('counts calls per stage, starting again in a new stage', async () => {
    const t = await w2.task({ stage: 'execute' });
    const call = async () => {
      const res = await fetch(`${w2.proxyUrl}/api/items`, { headers: { authorization: `Bearer ${t.token}` } });
      await res.arrayBuffer();
      return { status: res.status, usage: (await w2.decisionFor(res.headers.get('warden-decision-id'))).input.task.usage };
    };
    expect(await call()).toEqual({ status: 200, usage: { calls: 0, stage_calls: 0 } });
    expect((await w2.admin('PATCH', `/v1/tasks/${t.task_id}`, { stage: 'review' })).status).toBe(200);
    expect(await call()).toEqual({ status: 200, usage: { calls: 1, stage_calls: 0 } });
    expect(await call()).toEqual({ status: 403, usage: { calls: 2, stage_calls: 1 } });
  });
});
