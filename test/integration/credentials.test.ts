// Credential lanes end to end, and the admin API's policy check: a lane whose ${file:...} secret
// disappears after start answers 503 without forwarding (and without spending the task's call
// count or a human approval), a restored file is used at once; lanes a policy names that the
// upstream lacks (or no lane where the upstream has some) are refused; POST /v1/check answers the
// example policy's decision for a described call and logs it.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerLanes, headerLanes } from '../helpers/lanes.js';
import { compilePolicy } from '../helpers/policy.js';
import { closeAll } from '../helpers/proxy-pair.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { sendThrough } from '../helpers/send.js';
import { ADMIN_TOKEN, startWarden, tempDir, type WardenHandle } from '../helpers/warden.js';

const READ_V1 = 'S3CR3T-cred-read-file-v1-9d2e71';
const READ_V2 = 'S3CR3T-cred-read-file-v2-rotated-44ab0c';
const ESC_V1 = 'S3CR3T-cred-escalation-file-v1-be7710';
const ESC_V2 = 'S3CR3T-cred-escalation-file-v2-c3c3a9';
const WRITE_ENV = 'S3CR3T-cred-write-env-0a0b0c';
const LANED_KEY = 'S3CR3T-cred-laned-key-771f';
process.env.TEST_CRED_WRITE = WRITE_ENV;
process.env.TEST_CRED_LANED = LANED_KEY;
const ALL_SECRETS = [READ_V1, READ_V2, ESC_V1, ESC_V2, WRITE_ENV, LANED_KEY];

/** A request through Warden with a bearer token. */
function send(w: WardenHandle, up: TestUpstream, path: string, init: { token: string; method?: string; headers?: Record<string, string> }) {
  return sendThrough(w, up, path, { method: init.method ?? 'GET', headers: { authorization: `Bearer ${init.token}`, ...init.headers } });
}

function expectNoSecret(text: string, where: string): void {
  for (const s of ALL_SECRETS) expect(text.includes(s), `${where} contains a secret`).toBe(false);
}

// ------------------------------------------------------------------------------------------------
describe('a ${file:...} lane secret that disappears and comes back', () => {
  let up: TestUpstream;
  let w: WardenHandle;
  let readFile: string;
  let escFile: string;

  beforeAll(async () => {
    up = await startUpstream();
    // A well-behaved upstream: it does not echo the injected credential back.
    up.on('/', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    const dir = tempDir('warden-cred-');
    readFile = join(dir, 'github-read.secret');
    escFile = join(dir, 'github-escalation.secret');
    writeFileSync(readFile, `${READ_V1}\n`, { mode: 0o600 });
    writeFileSync(escFile, `${ESC_V1}\n`, { mode: 0o600 });
    w = await startWarden({
      dir,
      upstreams: { github: { prefix: '/github', url: up.url, lanes: bearerLanes({ read: { file: readFile }, write: 'TEST_CRED_WRITE', escalation: { file: escFile } }) } },
    });
  });
  afterAll(() => closeAll(w, up));

  it('a deleted read secret answers 503 UPSTREAM_CREDENTIAL_UNAVAILABLE, unforwarded and uncounted; the restored file is used at once', async () => {
    const t = await w.task();
    const get = () => send(w, up, '/github/repos/acme/app', { token: t.token });

    const ok1 = await get();
    expect(ok1.status, ok1.text).toBe(200);
    expect(up.seen.at(-1)!.headers.authorization).toBe(`Bearer ${READ_V1}`);

    rmSync(readFile);
    const gone = await get();
    expect(gone.status).toBe(503);
    expect(gone.body).toMatchObject({ error: 'UPSTREAM_CREDENTIAL_UNAVAILABLE', decision_id: gone.id });
    expect(gone.forwarded).toBe(0);
    expectNoSecret(gone.text, 'the 503 body');
    expect(gone.text).not.toContain(readFile);
    const line = await w.decisionFor(gone.id);
    expect(line).toMatchObject({ outcome: 'error', error: 'UPSTREAM_CREDENTIAL_UNAVAILABLE', status: 503, task: t.task_id });
    expect(line.upstream_status).toBeUndefined();
    // Only forwarded calls count (input.task.usage: "calls forwarded so far").
    expect((await w.admin('GET', `/v1/tasks/${t.task_id}`)).body.usage).toEqual({ calls: 1, stage_calls: 1 });
    // Still gone: still 503, still nothing forwarded.
    const again = await get();
    expect(again.status).toBe(503);
    expect(again.forwarded).toBe(0);

    writeFileSync(readFile, `${READ_V2}\n`, { mode: 0o600 });
    const ok2 = await get();
    expect(ok2.status, ok2.text).toBe(200);
    expect(ok2.forwarded).toBe(1);
    expect(up.seen.at(-1)!.headers.authorization).toBe(`Bearer ${READ_V2}`);
    const okLine = await w.decisionFor(ok2.id);
    expect(okLine.input.task.usage).toEqual({ calls: 1, stage_calls: 1 });
    expect(okLine).toMatchObject({ outcome: 'allow', lane: 'read', status: 200 });

    await w.log();
    expectNoSecret(readFileSync(w.logFile, 'utf8'), 'the decision log');
  });

  it('an approved destructive call whose escalation secret is missing answers 503 and keeps its approval for the retry', async () => {
    const t = await w.task({ user: { id: 'mia', roles: ['maintainer'] } });
    const del = () => send(w, up, '/github/repos/acme/app/branches/old', { token: t.token, method: 'DELETE' });

    const challenge = await del();
    expect(challenge.status).toBe(401);
    expect(challenge.body.error).toBe('approval_required');
    expect(challenge.forwarded).toBe(0);
    const approvalId = challenge.body.approval_id as string;
    expect((await w.admin('POST', `/v1/approvals/${approvalId}/approve`, { approver: 'security-oncall' })).status).toBe(200);

    rmSync(escFile);
    const gone = await del();
    expect(gone.status).toBe(503);
    expect(gone.body.error).toBe('UPSTREAM_CREDENTIAL_UNAVAILABLE');
    expect(gone.forwarded).toBe(0);
    expectNoSecret(gone.text, 'the 503 body');
    // The call never went out: the human's approval is still there to be used.
    expect((await w.admin('GET', `/v1/approvals/${approvalId}`)).body.status).toBe('approved');

    writeFileSync(escFile, `${ESC_V2}\n`, { mode: 0o600 });
    const ok = await del();
    expect(ok.status, ok.text).toBe(200);
    expect(ok.forwarded).toBe(1);
    expect(up.seen.at(-1)!.headers.authorization).toBe(`Bearer ${ESC_V2}`);
    expect(await w.decisionFor(ok.id)).toMatchObject({ outcome: 'allow', lane: 'escalation', approval: approvalId });
    // Single use: the next identical call needs a new approval.
    const next = await del();
    expect(next.status).toBe(401);
    expect(next.forwarded).toBe(0);

    await w.log();
    expectNoSecret(readFileSync(w.logFile, 'utf8'), 'the decision log');
  });
});

// ------------------------------------------------------------------------------------------------
describe('lanes the policy names and the upstream defines', () => {
  const POLICY = `package warden
import rego.v1

default decision := {"decision": "deny", "reason": "no rule", "headers": {}}

decision := {"decision": "allow", "reason": "ghost lane", "lane": "ghost", "headers": {}} if {
	input.request.path == "/ghost"
} else := {"decision": "allow", "reason": "no lane", "headers": {}} if {
	input.request.path == "/nolane"
} else := {"decision": "allow", "reason": "read lane", "lane": "read", "headers": {}} if {
	input.request.path == "/read"
}
`;
  let laned: TestUpstream;
  let bare: TestUpstream;
  let w: WardenHandle;
  let token: string;

  beforeAll(async () => {
    laned = await startUpstream();
    bare = await startUpstream();
    w = await startWarden({
      bundle: await compilePolicy(POLICY),
      upstreams: {
        laned: { prefix: '/laned', url: laned.url, lanes: headerLanes('x-api-key', { read: 'TEST_CRED_LANED' }) },
        bare: { prefix: '/bare', url: bare.url },
      },
    });
    token = (await w.task()).token;
  });
  afterAll(() => closeAll(w, laned, bare));

  async function expectLaneUndefined(up: TestUpstream, path: string): Promise<void> {
    const r = await send(w, up, path, { token });
    expect(r.status, `${path}: ${r.text}`).toBe(403);
    expect(r.body).toMatchObject({ error: 'LANE_UNDEFINED', decision_id: r.id });
    expect(r.forwarded).toBe(0);
    expectNoSecret(r.text, 'the 403 body');
    const line = await w.decisionFor(r.id);
    expect(line).toMatchObject({ outcome: 'deny', error: 'LANE_UNDEFINED', status: 403 });
    expect(line.lane).toBeUndefined();
  }

  it('an allow naming a lane the upstream does not define is 403 LANE_UNDEFINED, not forwarded', async () => {
    await expectLaneUndefined(laned, '/laned/ghost');
    // An upstream without lanes defines none: a named lane is undefined there too.
    await expectLaneUndefined(bare, '/bare/read');
    // The defined lane itself passes.
    const ok = await send(w, laned, '/laned/read', { token });
    expect(ok.status, ok.text).toBe(200);
    expect(laned.seen.at(-1)!.headers['x-api-key']).toBe(LANED_KEY);
  });

  it('an allow without a lane for an upstream that has lanes is 403 LANE_UNDEFINED', async () => {
    await expectLaneUndefined(laned, '/laned/nolane');
  });

  it('an allow without a lane for an upstream without lanes is forwarded with no credential header', async () => {
    const r = await send(w, bare, '/bare/nolane', { token, headers: { 'x-api-key': 'agent-supplied-key', cookie: 'session=agent' } });
    expect(r.status, r.text).toBe(200);
    expect(r.forwarded).toBe(1);
    const seen = bare.seen.at(-1)!;
    expect(seen.url).toBe('/nolane');
    for (const h of ['authorization', 'x-api-key', 'cookie', 'proxy-authorization']) expect(seen.headers[h], h).toBeUndefined();
    expect(JSON.stringify(seen.headers)).not.toContain(token);
    const line = await w.decisionFor(r.id);
    expect(line).toMatchObject({ outcome: 'allow', status: 200, upstream: 'bare' });
    expect(line.lane).toBeUndefined();
  });
});

// ------------------------------------------------------------------------------------------------
describe('POST /v1/check', () => {
  let up: TestUpstream;
  let w: WardenHandle;
  let revision: string;

  beforeAll(async () => {
    up = await startUpstream();
    w = await startWarden({ upstreams: { github: { prefix: '/github', url: up.url, lanes: bearerLanes({ read: 'TEST_CRED_WRITE', write: 'TEST_CRED_WRITE', escalation: 'TEST_CRED_WRITE' }) } } });
    revision = (await (await fetch(`${w.adminUrl}/ready`)).json()).revision;
    expect(typeof revision).toBe('string');
  });
  afterAll(() => closeAll(w, up));

  const task = (fields: Record<string, unknown> = {}) => ({
    id: 'task-check-1',
    stage: 'execute',
    risk: 'low',
    user: { id: 'alice', roles: ['developer'] },
    scopes: ['github:write'],
    expires_at: new Date(Date.now() + 600_000).toISOString(),
    ...fields,
  });
  /** `token` null sends no authorization header. */
  const check = (body: unknown, token: string | null = ADMIN_TOKEN) =>
    fetch(`${w.adminUrl}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token !== null && { authorization: `Bearer ${token}` }) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it("answers the example policy's decision for a described call, logs it, forwards nothing", async () => {
    const res = await check({ request: { method: 'GET', upstream: 'github', path: '/repos/acme/app' }, task: task() });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.revision).toBe(revision);
    expect(body.result).toMatchObject({ decision: 'allow', lane: 'read', reason: 'read access', risk: 'low', headers: { 'x-warden-stage': 'execute' } });

    const line = await w.decisionFor(body.decision_id);
    expect(line).toMatchObject({ type: 'decision', outcome: 'allow', status: 200, path: 'warden/decision', bundles: { warden: { revision } } });
    expect(line.result).toMatchObject({ decision: 'allow', lane: 'read' });
    expect(line.input.request).toMatchObject({ method: 'GET', upstream: 'github', path: '/repos/acme/app' });
    expect(line.input.time.rfc3339).toMatch(/^\d{4}-\d\d-\d\dT/);

    // A write in plan is denied; a destructive call by a maintainer is a step-up (no approval created).
    const denied = await (await check({ request: { method: 'POST', upstream: 'github', path: '/repos/acme/app/issues' }, task: task({ stage: 'plan' }) })).json();
    expect(denied.result.decision).toBe('deny');
    expect((await w.decisionFor(denied.decision_id)).outcome).toBe('deny');
    const pendingBefore = (await w.admin('GET', '/v1/approvals?status=pending')).body.approvals.length;
    const stepUp = await (await check({ request: { method: 'DELETE', upstream: 'github', path: '/repos/acme/app' }, task: task({ user: { id: 'mia', roles: ['maintainer'] } }) })).json();
    expect(stepUp.result).toMatchObject({ decision: 'step_up', approvers: ['security-oncall'] });
    expect((await w.admin('GET', '/v1/approvals?status=pending')).body.approvals.length).toBe(pendingBefore);
    // Without a task the example policy denies everything.
    const noTask = await (await check({ request: { method: 'GET', upstream: 'github', path: '/repos/acme/app' } })).json();
    expect(noTask.result).toMatchObject({ decision: 'deny', reason: 'no task' });

    expect(up.seen.length).toBe(0);
  });

  it('a body without request.method (or not an object) is 400', async () => {
    for (const body of [{ request: { upstream: 'github', path: '/repos/acme/app' }, task: task() }, { task: task() }, [], 'not json']) {
      const res = await check(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json()).error).toBe('ADMIN_BAD_REQUEST');
    }
  });

  it('without the admin token (or with a wrong one) is 401, and nothing is evaluated or logged', async () => {
    const before = (await w.decisions()).length;
    const described = { request: { method: 'GET', upstream: 'github', path: '/repos/acme/app' }, task: task() };
    for (const token of [null, 'wrong-admin-token-0123456789abcdef']) {
      const res = await check(described, token);
      expect(res.status).toBe(401);
      const body = await res.json();
      expect(body.error).toBe('ADMIN_UNAUTHORIZED');
      expect(body.result).toBeUndefined();
    }
    expect((await w.decisions()).length).toBe(before);
  });
});
