// Step-up approvals end to end (issue 4 "Done when"): a running Warden with the example policy,
// real upstreams and a real approval-webhook receiver on port 0. Destructive calls (github DELETE,
// MCP delete_*) ask for a human; approvals are bound to the exact call and used once.

import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/stepup/signature.js';
import { bearerLanes } from '../helpers/lanes.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ADMIN_TOKEN, startWarden, type WardenHandle } from '../helpers/warden.js';
import { accept, approveAt, denyAt, fail, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET = 'whsec-step-up-test-0123456789abcdef';
process.env.TEST_WEBHOOK_SECRET = SECRET;
const LANE_SECRETS = {
  TEST_SU_GH_READ: 'su-gh-read-secret-value',
  TEST_SU_GH_WRITE: 'su-gh-write-secret-value',
  TEST_SU_GH_ESC: 'su-gh-escalation-secret-value',
  TEST_SU_TOOLS_READ: 'su-tools-read-secret-value',
  TEST_SU_TOOLS_WRITE: 'su-tools-write-secret-value',
  TEST_SU_TOOLS_ESC: 'su-tools-escalation-secret-value',
};
Object.assign(process.env, LANE_SECRETS);

let gh: TestUpstream;
let tools: TestUpstream;
let hook: WebhookReceiver;
/** hold 0, ttl 10m, body preview 16 bytes. */
let w: WardenHandle;
/** hold 5s. */
let wHold: WardenHandle;
/** ttl 1s (the schema's minimum). */
let wShort: WardenHandle;

function upstreams() {
  const lanes = (p: string) => bearerLanes({ read: `TEST_SU_${p}_READ`, write: `TEST_SU_${p}_WRITE`, escalation: `TEST_SU_${p}_ESC` });
  return {
    github: { prefix: '/github', url: gh.url, lanes: lanes('GH') },
    tools: { prefix: '/tools', url: tools.url, mcp: true, lanes: lanes('TOOLS') },
  };
}

function stepUp(over: Record<string, unknown> = {}, webhook: Record<string, unknown> = {}) {
  return {
    step_up: {
      webhook: { url: hook.url, secret: '${env:TEST_WEBHOOK_SECRET}', backoff: '20ms', retries: 2, timeout: '2s', ...webhook },
      hold: '0s',
      ttl: '10m',
      retry_after: '1s',
      ...over,
    },
  };
}

beforeAll(async () => {
  gh = await startUpstream();
  tools = await startUpstream();
  hook = await startWebhookReceiver(SECRET);
  [w, wHold, wShort] = await Promise.all([
    startWarden({ upstreams: upstreams(), config: stepUp({ body_preview_bytes: 16 }) }),
    startWarden({ upstreams: upstreams(), config: stepUp({ hold: '5s' }) }),
    startWarden({ upstreams: upstreams(), config: stepUp({ ttl: '1s' }) }),
  ]);
});
afterAll(async () => {
  await Promise.all([w?.close(), wHold?.close(), wShort?.close()]);
  await Promise.all([gh?.close(), tools?.close(), hook?.close()]);
});

// --- helpers -----------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Headers;
  body: any;
  /** warden-decision-id */
  id: string;
}

async function send(wd: WardenHandle, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(wd.proxyUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed, id: res.headers.get('warden-decision-id') ?? '' };
}

function rpc(id: string | number, tool: string, args: Record<string, unknown>) {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: args } };
}

const mcpCall = (wd: WardenHandle, token: string, id: string | number, tool: string, args: Record<string, unknown>) => send(wd, token, 'POST', '/tools/mcp', rpc(id, tool, args));

/** A task that may make destructive calls (maintainer, stage execute, write scopes). */
function maintainerTask(wd: WardenHandle) {
  return wd.task({ user: { id: 'dana', roles: ['maintainer'] }, stage: 'execute', risk: 'low', scopes: ['github:write', 'tools:write'] });
}

function expectStepUp(a: Answer): string {
  expect(a.status).toBe(401);
  expect(a.headers.get('www-authenticate')).toMatch(/^Bearer .*error="insufficient_user_authentication"/);
  expect(a.headers.get('retry-after')).toBe('1'); // step_up.retry_after of every Warden here
  expect(a.body).toMatchObject({ error: 'approval_required', approval_id: expect.any(String), decision_id: a.id, expires_at: expect.any(String) });
  return a.body.approval_id as string;
}

function expectMcpStepUp(a: Answer, rpcId: string | number): string {
  expect(a.status).toBe(200);
  expect(a.body).toMatchObject({ jsonrpc: '2.0', id: rpcId, error: { code: -32011, data: { error: 'approval_required', approval_id: expect.any(String), decision_id: a.id } } });
  return a.body.error.data.approval_id as string;
}

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20)); // the poll interval, not a wait for anything
  }
}

/** Requests held open waiting for an approver (the gauge, read from /metrics). */
async function heldCount(wd: WardenHandle): Promise<number> {
  const text = await (await fetch(`${wd.adminUrl}/metrics`)).text();
  return Number(/^warden_approval_held_requests (\d+)$/m.exec(text)![1]);
}

/** Exactly one decision log line per answer (the line can trail the answer by a tick); returns them. */
async function lines(wd: WardenHandle, answers: Answer[]): Promise<Record<string, any>[]> {
  for (const a of answers) expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
  const ids = new Set(answers.map((a) => a.id));
  const found = await until('decision lines', async () => {
    const ls = (await wd.decisions()).filter((l) => ids.has(l.decision_id as string));
    return ls.length >= ids.size ? ls : undefined;
  });
  for (const a of answers) expect(found.filter((l) => l.decision_id === a.id)).toHaveLength(1);
  return answers.map((a) => found.find((l) => l.decision_id === a.id)!);
}

const RANK: Record<string, number> = { 'approval.requested': 0, 'approval.approved': 1, 'approval.denied': 1, 'approval.used': 2, 'approval.expired': 2, 'approval.cancelled': 2 };

/**
 * The approval lifecycle events logged for one approval, as [event, approver], once at least `n`
 * are there, in lifecycle order (the log file may hold lines out of order for a moment: an
 * asynchronous write can still be running when flushSync appends the rest).
 */
async function events(wd: WardenHandle, approvalId: string, n: number): Promise<[string, unknown][]> {
  const found = await until(`${n} events of ${approvalId}`, async () => {
    const ls = (await wd.log()).filter((l) => l.type === 'event' && l.approval_id === approvalId);
    return ls.length >= n ? ls : undefined;
  });
  return found.map((l) => [l.event as string, l.approver] as [string, unknown]).sort((a, b) => (RANK[a[0]] ?? 9) - (RANK[b[0]] ?? 9));
}

async function approve(wd: WardenHandle, id: string, approver: string, reason = 'checked') {
  const r = await wd.admin('POST', `/v1/approvals/${id}/approve`, { approver, reason });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ id, status: 'approved', approver });
  return r.body;
}

// --- tests -------------------------------------------------------------------------------------

describe('step-up approvals', () => {
  it('approve at once: the webhook approves, the DELETE is forwarded on the escalation lane', async () => {
    hook.reply(approveAt('ann', 'ticket OPS-1'));
    const t = await maintainerTask(w);
    const before = gh.seen.length;
    const r = await send(w, t.token, 'DELETE', '/github/repos/acme/app/branches/feature-1');
    expect(r.status).toBe(200);
    expect(gh.seen.length).toBe(before + 1);
    const seen = gh.seen.at(-1)!;
    expect(seen.method).toBe('DELETE');
    expect(seen.url).toBe('/repos/acme/app/branches/feature-1');
    expect(seen.headers.authorization).toBe(`Bearer ${LANE_SECRETS.TEST_SU_GH_ESC}`);
    expect(seen.headers['warden-decision-id']).toBe(r.id);

    const [line] = await lines(w, [r]);
    expect(line).toMatchObject({ outcome: 'allow', lane: 'escalation', status: 200, approval: expect.any(String), task: t.task_id });
    const approvalId = line!.approval as string;
    expect(line!.input.approval).toMatchObject({ id: approvalId, approver: 'ann' });
    expect(hook.forApproval(approvalId)).toHaveLength(1);
    expect((await w.admin('GET', `/v1/approvals/${approvalId}`)).body).toMatchObject({ status: 'used', approver: 'ann', task_id: t.task_id });
    expect(await events(w, approvalId, 3)).toEqual([
      ['approval.requested', undefined],
      ['approval.approved', 'ann'],
      ['approval.used', undefined],
    ]);
  });

  it('a webhook that approves at once while identical calls race: one passes, the duplicates are refused', async () => {
    // The webhook answers after every racing call has joined the pending approval, also on a busy machine.
    hook.reply({ ...approveAt('ann'), delayMs: 1000 });
    const t = await maintainerTask(w);
    const before = gh.seen.length;
    const rs = await Promise.all(Array.from({ length: 5 }, () => send(w, t.token, 'DELETE', '/github/repos/acme/app/branches/race-approved')));
    hook.reply(accept());
    expect(rs.filter((r) => r.status === 200)).toHaveLength(1);
    expect(gh.seen.length).toBe(before + 1);
    const [line] = await lines(w, rs.filter((r) => r.status === 200));
    const spent = line!.approval as string;
    // The duplicates that waited on the same approval are refused: it is spent (single use).
    const dupes = rs.filter((x) => x.status !== 200);
    expect(dupes).toHaveLength(4);
    for (const r of dupes) expect(r.body).toEqual({ error: 'POLICY_DENIED', decision_id: r.id, reason: 'approval already used' });
    const ls = await lines(w, rs);
    expect(ls.filter((l) => l.error === 'APPROVAL_CONFLICT' && l.approval === spent && l.outcome === 'deny')).toHaveLength(4);
    expect(hook.forApproval(spent)).toHaveLength(1);
  });

  it('a webhook that denies at once: the agent gets 403 with the reason', async () => {
    hook.reply(denyAt('dave', 'not on a Friday'));
    const t = await maintainerTask(w);
    const before = gh.seen.length;
    const r = await send(w, t.token, 'DELETE', '/github/repos/acme/app/branches/friday');
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: 'APPROVAL_DENIED', reason: 'not on a Friday', decision_id: r.id });
    expect(gh.seen.length).toBe(before);
    const [line] = await lines(w, [r]);
    expect(line).toMatchObject({ outcome: 'deny', status: 403, error: 'APPROVAL_DENIED' });
    expect(await events(w, line!.approval, 2)).toEqual([
      ['approval.requested', undefined],
      ['approval.denied', 'dave'],
    ]);
  });

  it('approve later through the admin API while the agent retries', async () => {
    hook.reply(accept());
    const t = await maintainerTask(w);
    const before = gh.seen.length;
    const path = '/github/repos/acme/app/branches/feature-2';
    const first = await send(w, t.token, 'DELETE', path);
    const id = expectStepUp(first);
    expect(first.headers.get('retry-after')).toBe('1');

    // The agent retries before anyone decided: the same approval, no second webhook.
    const early = await send(w, t.token, 'DELETE', path);
    expect(expectStepUp(early)).toBe(id);
    expect(hook.forApproval(id)).toHaveLength(1);
    expect(gh.seen.length).toBe(before);

    const pending = await w.admin('GET', '/v1/approvals?status=pending');
    expect(pending.status).toBe(200);
    expect(pending.body.approvals.find((a: any) => a.id === id)).toMatchObject({ status: 'pending', task_id: t.task_id, method: 'DELETE', upstream: 'github', path: '/repos/acme/app/branches/feature-2' });

    // Faults of the admin API: an unknown id is 404, a decision without an approver 400.
    expect((await w.admin('POST', '/v1/approvals/00000000-0000-0000-0000-000000000000/approve', { approver: 'bob' })).status).toBe(404);
    expect((await w.admin('GET', '/v1/approvals/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await w.admin('POST', `/v1/approvals/${id}/approve`, { reason: 'no approver' })).status).toBe(400);
    expect((await w.admin('POST', `/v1/approvals/${id}/deny`, { approver: 'bob' })).status).toBe(400); // a denial needs its reason
    expect((await w.admin('GET', `/v1/approvals/${id}`)).body.status).toBe('pending');

    await approve(w, id, 'bob', 'looks fine');
    expect((await w.admin('GET', '/v1/approvals?status=pending')).body.approvals.some((a: any) => a.id === id)).toBe(false);

    const retry = await send(w, t.token, 'DELETE', path);
    expect(retry.status).toBe(200);
    expect(gh.seen.length).toBe(before + 1);
    expect(gh.seen.at(-1)!.headers.authorization).toBe(`Bearer ${LANE_SECRETS.TEST_SU_GH_ESC}`);

    const ls = await lines(w, [first, early, retry]);
    expect(ls[0]).toMatchObject({ outcome: 'step_up', status: 401, approval: id });
    expect(ls[1]).toMatchObject({ outcome: 'step_up', status: 401, approval: id });
    expect(ls[2]).toMatchObject({ outcome: 'allow', status: 200, approval: id, lane: 'escalation' });
    expect(await events(w, id, 3)).toEqual([
      ['approval.requested', undefined],
      ['approval.approved', 'bob'],
      ['approval.used', undefined],
    ]);
  });

  it('approve during a hold: the request stays open and is forwarded once approved', async () => {
    hook.reply(accept());
    const t = await maintainerTask(wHold);
    const before = gh.seen.length;
    let settled = false;
    const pending = send(wHold, t.token, 'DELETE', '/github/repos/acme/app/branches/held').finally(() => {
      settled = true;
    });
    const a = await until('a pending approval', async () => (await wHold.admin('GET', '/v1/approvals?status=pending')).body.approvals.find((x: any) => x.task_id === t.task_id));
    await until('the request held', async () => (await heldCount(wHold)) === 1);
    expect(settled).toBe(false);
    expect(gh.seen.length).toBe(before);

    await approve(wHold, a.id, 'erin');
    const r = await pending;
    expect(r.status).toBe(200); // a hold that ran out would have answered 401 (its line below says allow, with the approval)
    expect(gh.seen.length).toBe(before + 1);
    expect(gh.seen.at(-1)!.headers.authorization).toBe(`Bearer ${LANE_SECRETS.TEST_SU_GH_ESC}`);
    const [line] = await lines(wHold, [r]);
    expect(line).toMatchObject({ outcome: 'allow', lane: 'escalation', approval: a.id, status: 200 });
    expect((await events(wHold, a.id, 3)).map(([e]) => e)).toEqual(['approval.requested', 'approval.approved', 'approval.used']);
  });

  it('a hold that runs out answers the step-up challenge; a client leaving a hold leaves the approval pending', async () => {
    hook.reply(accept());
    const wShortHold = await startWarden({ upstreams: upstreams(), config: stepUp({ hold: '300ms' }) });
    try {
      const t = await maintainerTask(wShortHold);
      const before = gh.seen.length;
      const path = '/github/repos/acme/app/branches/held-out';
      const t0 = Date.now();
      const r = await send(wShortHold, t.token, 'DELETE', path);
      const id = expectStepUp(r);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(280);

      // The client gives up during the next hold.
      // (node:http rather than fetch: an aborted fetch makes undici open a spare connection that
      // holds the server's close for its 4 s keep-alive.)
      const req = httpRequest(wShortHold.proxyUrl + path, { method: 'DELETE', headers: { authorization: `Bearer ${t.token}` }, agent: false });
      const gone = new Promise<unknown>((r) => {
        req.on('error', r);
        req.on('response', r);
      });
      req.end();
      await until('the request held', async () => (await heldCount(wShortHold)) === 1);
      req.destroy();
      expect(await gone).toBeInstanceOf(Error);
      const abortLine = await until('the client_abort line', async () => (await wShortHold.decisions()).find((l) => l.outcome === 'client_abort' && l.task === t.task_id));
      expect(abortLine).toMatchObject({ status: 499, approval: id });
      expect((await wShortHold.admin('GET', `/v1/approvals/${id}`)).body.status).toBe('pending');

      await approve(wShortHold, id, 'olga');
      const retry = await send(wShortHold, t.token, 'DELETE', path);
      expect(retry.status).toBe(200);
      expect(gh.seen.length).toBe(before + 1);
      expect(hook.forApproval(id)).toHaveLength(1);
      await lines(wShortHold, [r, retry]);
    } finally {
      await wShortHold.close();
    }
  });

  it('identical calls held together: one is forwarded on approval, the duplicates are refused', async () => {
    hook.reply(accept());
    const t = await maintainerTask(wHold);
    const before = gh.seen.length;
    const path = '/github/repos/acme/app/branches/held-together';
    const held = Array.from({ length: 5 }, () => send(wHold, t.token, 'DELETE', path));
    const a = await until('a pending approval', async () => (await wHold.admin('GET', '/v1/approvals?status=pending')).body.approvals.find((x: any) => x.task_id === t.task_id));
    await until('all five held', async () => (await heldCount(wHold)) === 5);
    await approve(wHold, a.id, 'pat');
    const rs = await Promise.all(held);
    expect(rs.filter((r) => r.status === 200)).toHaveLength(1);
    expect(gh.seen.length).toBe(before + 1);
    const others = rs.filter((r) => r.status !== 200);
    expect(others).toHaveLength(4);
    // Never a challenge naming the spent approval, which no one can approve any more.
    for (const r of others) expect(r.body).toEqual({ error: 'POLICY_DENIED', decision_id: r.id, reason: 'approval already used' });
    const ls = await lines(wHold, rs);
    expect(ls.filter((l) => l.error === 'APPROVAL_CONFLICT' && l.approval === a.id)).toHaveLength(4);
    expect((await events(wHold, a.id, 3)).filter(([e]) => e === 'approval.used')).toHaveLength(1);
  });

  it('deny through the admin API: the identical call is answered 403 with the approver\'s reason', async () => {
    hook.reply(accept());
    const t = await maintainerTask(w);
    const before = gh.seen.length;
    const path = '/github/repos/acme/app/branches/main';
    const first = await send(w, t.token, 'DELETE', path);
    const id = expectStepUp(first);
    const d = await w.admin('POST', `/v1/approvals/${id}/deny`, { approver: 'carol', reason: 'main is protected' });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ id, status: 'denied', approver: 'carol', decision_reason: 'main is protected' });

    const answers = [first];
    for (let i = 0; i < 2; i++) {
      const r = await send(w, t.token, 'DELETE', path);
      expect(r.status).toBe(403);
      expect(r.body).toEqual({ error: 'APPROVAL_DENIED', decision_id: r.id, reason: 'main is protected' });
      answers.push(r);
    }
    // A denied approval cannot be approved afterwards.
    expect((await w.admin('POST', `/v1/approvals/${id}/approve`, { approver: 'mallory' })).status).toBe(409);
    expect(gh.seen.length).toBe(before);
    expect(hook.forApproval(id)).toHaveLength(1);

    const ls = await lines(w, answers);
    expect(ls[0]).toMatchObject({ outcome: 'step_up', approval: id });
    for (const l of ls.slice(1)) expect(l).toMatchObject({ outcome: 'deny', status: 403, error: 'APPROVAL_DENIED', approval: id });
    const ev = await until('the approval.denied event', async () => (await w.log()).find((l) => l.type === 'event' && l.event === 'approval.denied' && l.approval_id === id));
    expect(ev).toMatchObject({ approver: 'carol', reason: 'main is protected', task_id: t.task_id });
  });

  it('approval expiry: pending, granted and denied approvals end at their ttl; the call then needs a new one', async () => {
    hook.reply(accept());
    const [tPending, tGranted, tDenied] = await Promise.all([maintainerTask(wShort), maintainerTask(wShort), maintainerTask(wShort)]);
    const path = '/github/repos/acme/app/branches/stale';
    const before = gh.seen.length;
    const p1 = await send(wShort, tPending.token, 'DELETE', path);
    const g1 = await send(wShort, tGranted.token, 'DELETE', path);
    const d1 = await send(wShort, tDenied.token, 'DELETE', path);
    const [pId, gId, dId] = [expectStepUp(p1), expectStepUp(g1), expectStepUp(d1)];
    expect(new Set([pId, gId, dId]).size).toBe(3);
    await approve(wShort, gId, 'frank');
    expect((await wShort.admin('POST', `/v1/approvals/${dId}/deny`, { approver: 'frank', reason: 'no' })).status).toBe(200);
    expect((await send(wShort, tDenied.token, 'DELETE', path)).status).toBe(403);

    // Wait until the time the approvals say they end (their ttl), not for a constant.
    const ends = await Promise.all([pId, gId, dId].map(async (id) => Date.parse((await wShort.admin('GET', `/v1/approvals/${id}`)).body.expires_at as string)));
    await until('the approvals to end', () => (Date.now() > Math.max(...ends) ? true : undefined));
    const p2 = await send(wShort, tPending.token, 'DELETE', path);
    const g2 = await send(wShort, tGranted.token, 'DELETE', path);
    const d2 = await send(wShort, tDenied.token, 'DELETE', path);
    const [pId2, gId2, dId2] = [expectStepUp(p2), expectStepUp(g2), expectStepUp(d2)];
    expect(pId2).not.toBe(pId);
    expect(gId2).not.toBe(gId);
    expect(dId2).not.toBe(dId);
    expect(hook.forApproval(pId2)).toHaveLength(1);
    expect(gh.seen.length).toBe(before); // the expired grant opened nothing

    // The sweep marks them expired (denied keeps its status: it is the record of the "no").
    await until('expired approvals', async () => {
      const [a, b] = await Promise.all([wShort.admin('GET', `/v1/approvals/${pId}`), wShort.admin('GET', `/v1/approvals/${gId}`)]);
      return a.body.status === 'expired' && b.body.status === 'expired' ? true : undefined;
    });
    expect((await wShort.admin('GET', `/v1/approvals/${dId}`)).body.status).toBe('denied');
    // An expired approval cannot be decided any more.
    expect((await wShort.admin('POST', `/v1/approvals/${pId}/approve`, { approver: 'late' })).status).toBe(409);
    expect((await events(wShort, pId, 2)).map(([e]) => e)).toEqual(['approval.requested', 'approval.expired']);
    expect(await events(wShort, gId, 3)).toEqual([
      ['approval.requested', undefined],
      ['approval.approved', 'frank'],
      ['approval.expired', undefined],
    ]);
    const ls = await lines(wShort, [p1, g1, d1, p2, g2, d2]);
    expect(ls.map((l) => l.outcome)).toEqual(['step_up', 'step_up', 'step_up', 'step_up', 'step_up', 'step_up']);
  });

  it('a webhook refusing connections or answering 5xx is retried, then the agent gets the step-up answer; nothing is forwarded', async () => {
    const gone = await startUpstream();
    await gone.close();
    const failing = await startWebhookReceiver(SECRET, fail(500));
    const [wRefused, w500] = await Promise.all([
      startWarden({ upstreams: upstreams(), config: stepUp({}, { url: `${gone.url}/hook` }) }),
      startWarden({ upstreams: upstreams(), config: stepUp({}, { url: failing.url }) }),
    ]);
    try {
      const before = gh.seen.length;

      const t1 = await maintainerTask(wRefused);
      const started = Date.now();
      const r1 = await send(wRefused, t1.token, 'DELETE', '/github/repos/acme/app/branches/x');
      const id1 = expectStepUp(r1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(55); // backoff 20 ms + 40 ms between the 3 attempts
      // Not delivered: it stays pending for the admin API.
      expect((await wRefused.admin('GET', `/v1/approvals/${id1}`)).body.status).toBe('pending');

      const t2 = await maintainerTask(w500);
      const r2 = await send(w500, t2.token, 'DELETE', '/github/repos/acme/app/branches/x');
      const id2 = expectStepUp(r2);
      const attempts = failing.forApproval(id2);
      expect(attempts).toHaveLength(3); // 1 + retries: 2
      expect(attempts.every((e) => e.verified)).toBe(true);
      // Each attempt is signed anew over the same event.
      expect(new Set(attempts.map((e) => e.raw)).size).toBe(1);

      // A 4xx is the receiver refusing the event: not retried.
      failing.reply(fail(400));
      const t3 = await maintainerTask(w500);
      const r3 = await send(w500, t3.token, 'DELETE', '/github/repos/acme/app/branches/y');
      expect(failing.forApproval(expectStepUp(r3))).toHaveLength(1);

      // The identical retry joins the pending approval and is still not forwarded.
      const r4 = await send(w500, t2.token, 'DELETE', '/github/repos/acme/app/branches/x');
      expect(expectStepUp(r4)).toBe(id2);
      expect(failing.forApproval(id2)).toHaveLength(3);

      expect(gh.seen.length).toBe(before);
      await lines(wRefused, [r1]);
      await lines(w500, [r2, r3, r4]);
    } finally {
      await Promise.all([wRefused.close(), w500.close()]);
      await failing.close();
    }
  });

  it('the approved call passes once; a second identical call needs a new approval', async () => {
    hook.reply(accept());
    const t = await maintainerTask(w);
    const before = gh.seen.length;
    const path = '/github/repos/acme/app/branches/once';
    const first = await send(w, t.token, 'DELETE', path);
    const id = expectStepUp(first);
    await approve(w, id, 'gina');
    const ok = await send(w, t.token, 'DELETE', path);
    expect(ok.status).toBe(200);
    const again = await send(w, t.token, 'DELETE', path);
    const id2 = expectStepUp(again);
    expect(id2).not.toBe(id);
    expect(hook.forApproval(id2)).toHaveLength(1);
    expect(gh.seen.length).toBe(before + 1);
    expect((await w.admin('GET', `/v1/approvals/${id}`)).body.status).toBe('used');
    // A used approval cannot be decided again.
    expect((await w.admin('POST', `/v1/approvals/${id}/approve`, { approver: 'gina' })).status).toBe(409);
    const ls = await lines(w, [first, ok, again]);
    expect(ls.map((l) => [l.outcome, l.approval])).toEqual([
      ['step_up', id],
      ['allow', id],
      ['step_up', id2],
    ]);
  });

  it('the policy keeps the last word: a grant does not open the call once the task left stage execute', async () => {
    hook.reply(accept());
    const t = await maintainerTask(w);
    const before = gh.seen.length;
    const path = '/github/repos/acme/app/branches/late';
    const first = await send(w, t.token, 'DELETE', path);
    const id = expectStepUp(first);
    await approve(w, id, 'quinn');
    expect((await w.admin('PATCH', `/v1/tasks/${t.task_id}`, { stage: 'review' })).status).toBe(200);
    const refused = await send(w, t.token, 'DELETE', path);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'POLICY_DENIED', reason: expect.stringMatching(/execute/) });
    expect(gh.seen.length).toBe(before);
    // Not spent by the refused call: back in execute, the identical call passes once.
    expect((await w.admin('GET', `/v1/approvals/${id}`)).body.status).toBe('approved');
    expect((await w.admin('PATCH', `/v1/tasks/${t.task_id}`, { stage: 'execute' })).status).toBe(200);
    const ok = await send(w, t.token, 'DELETE', path);
    expect(ok.status).toBe(200);
    expect(gh.seen.length).toBe(before + 1);
    const ls = await lines(w, [first, refused, ok]);
    expect(ls.map((l) => l.outcome)).toEqual(['step_up', 'deny', 'allow']);
  });

  it('a call with a different query, body or tool arguments after approval needs its own approval', async () => {
    hook.reply(accept());
    const t = await maintainerTask(w);
    const ghBefore = gh.seen.length;
    const toolsBefore = tools.seen.length;

    // REST: the query and the body are part of the binding.
    const path = '/github/repos/acme/app/branches/topic?reason=cleanup';
    const first = await send(w, t.token, 'DELETE', path, { confirm: 'topic' });
    const id = expectStepUp(first);
    await approve(w, id, 'hana');
    const otherQuery = await send(w, t.token, 'DELETE', '/github/repos/acme/app/branches/topic?reason=other', { confirm: 'topic' });
    const otherBody = await send(w, t.token, 'DELETE', path, { confirm: 'topic', force: true });
    const otherPath = await send(w, t.token, 'DELETE', '/github/repos/acme/app/branches/topic2?reason=cleanup', { confirm: 'topic' });
    const others = [otherQuery, otherBody, otherPath].map(expectStepUp);
    expect(new Set([id, ...others]).size).toBe(4);
    expect(gh.seen.length).toBe(ghBefore);
    // The grant is untouched by the others: the exact call still passes.
    const exact = await send(w, t.token, 'DELETE', path, { confirm: 'topic' });
    expect(exact.status).toBe(200);
    expect(gh.seen.length).toBe(ghBefore + 1);
    expect(gh.seen.at(-1)!.url).toBe('/repos/acme/app/branches/topic?reason=cleanup');

    // MCP: other arguments to the same tool.
    const m1 = await mcpCall(w, t.token, 1, 'delete_branch', { repo: 'acme/app', branch: 'a' });
    const mId = expectMcpStepUp(m1, 1);
    await approve(w, mId, 'hana');
    const m2 = await mcpCall(w, t.token, 2, 'delete_branch', { repo: 'acme/app', branch: 'b' });
    expect(expectMcpStepUp(m2, 2)).not.toBe(mId);
    expect(tools.seen.length).toBe(toolsBefore);
    // Argument key order does not change the call.
    const m3 = await mcpCall(w, t.token, 3, 'delete_branch', { branch: 'a', repo: 'acme/app' });
    expect(m3.status).toBe(200);
    expect(m3.body.error).toBeUndefined();
    expect(tools.seen.length).toBe(toolsBefore + 1);

    await lines(w, [first, otherQuery, otherBody, otherPath, exact, m1, m2, m3]);
  });

  it('twenty identical concurrent calls produce one approval and one webhook delivery', async () => {
    hook.reply({ ...accept(), delayMs: 100 });
    const t = await maintainerTask(w);
    const before = gh.seen.length;
    const hooksBefore = hook.events.length;
    const path = '/github/repos/acme/app/branches/race';
    const rs = await Promise.all(Array.from({ length: 20 }, () => send(w, t.token, 'DELETE', path)));
    const ids = new Set(rs.map(expectStepUp));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [string];
    expect(hook.events.length - hooksBefore).toBe(1);
    expect(hook.forApproval(id)).toHaveLength(1);
    expect((await w.admin('GET', '/v1/approvals')).body.approvals.filter((a: any) => a.task_id === t.task_id)).toHaveLength(1);
    expect(gh.seen.length).toBe(before);

    // Twenty concurrent retries after the approval: exactly one is forwarded (single use); the
    // others need, and share, one new approval.
    hook.reply(accept());
    await approve(w, id, 'ivan');
    const retries = await Promise.all(Array.from({ length: 20 }, () => send(w, t.token, 'DELETE', path)));
    const passed = retries.filter((r) => r.status === 200);
    expect(passed).toHaveLength(1);
    const rest = retries.filter((r) => r.status !== 200);
    const newIds = new Set(rest.map(expectStepUp));
    expect(newIds.size).toBe(1);
    expect(newIds.has(id)).toBe(false);
    expect(hook.forApproval([...newIds][0]!)).toHaveLength(1);
    expect(gh.seen.length).toBe(before + 1);

    const ls = await lines(w, [...rs, ...retries]);
    expect(ls.filter((l) => l.outcome === 'allow')).toHaveLength(1);
    expect((await events(w, id, 3)).filter(([e]) => e === 'approval.used')).toHaveLength(1);
  });

  it('an MCP tools/call goes through the whole cycle; the retry may use another JSON-RPC id', async () => {
    hook.reply(accept());
    const t = await maintainerTask(w);
    const before = tools.seen.length;
    const args = { repo: 'acme/app', branch: 'stale-feature' };

    const first = await mcpCall(w, t.token, 41, 'delete_branch', args);
    const id = expectMcpStepUp(first, 41);
    expect(first.body.error.data.expires_at).toEqual(expect.any(String));
    expect(first.headers.get('retry-after')).toBe('1');
    const early = await mcpCall(w, t.token, 'retry-42', 'delete_branch', args);
    expect(expectMcpStepUp(early, 'retry-42')).toBe(id);
    expect(hook.forApproval(id)).toHaveLength(1);
    expect(hook.forApproval(id)[0]!.body.request.mcp).toEqual({ method: 'tools/call', tool: 'delete_branch' });
    expect(tools.seen.length).toBe(before);

    await approve(w, id, 'judy');
    const retry = await mcpCall(w, t.token, 'retry-43', 'delete_branch', args);
    expect(retry.status).toBe(200);
    expect(retry.body.error).toBeUndefined();
    expect(tools.seen.length).toBe(before + 1);
    const seen = tools.seen.at(-1)!;
    expect(JSON.parse(seen.body)).toEqual(rpc('retry-43', 'delete_branch', args));
    expect(seen.headers.authorization).toBe(`Bearer ${LANE_SECRETS.TEST_SU_TOOLS_ESC}`);

    const again = await mcpCall(w, t.token, 44, 'delete_branch', args);
    expect(expectMcpStepUp(again, 44)).not.toBe(id);

    const ls = await lines(w, [first, early, retry, again]);
    expect(ls[0]).toMatchObject({ outcome: 'step_up', status: 200, approval: id });
    expect(ls[2]).toMatchObject({ outcome: 'allow', approval: id, lane: 'escalation', upstream: 'tools' });
    expect(ls[2]!.input.mcp).toMatchObject({ id: 'retry-43', tool: 'delete_branch' });
    expect(await events(w, id, 3)).toEqual([
      ['approval.requested', undefined],
      ['approval.approved', 'judy'],
      ['approval.used', undefined],
    ]);
  });

  it('revoking the task cancels its pending and granted approvals', async () => {
    hook.reply(accept());
    const t = await maintainerTask(w);
    const before = gh.seen.length;
    const a1 = await send(w, t.token, 'DELETE', '/github/repos/acme/app/branches/r1');
    const a2 = await send(w, t.token, 'DELETE', '/github/repos/acme/app/branches/r2');
    const [pendingId, grantedId] = [expectStepUp(a1), expectStepUp(a2)];
    await approve(w, grantedId, 'kim');

    expect((await w.admin('DELETE', `/v1/tasks/${t.task_id}`)).status).toBe(200);
    for (const id of [pendingId, grantedId]) expect((await w.admin('GET', `/v1/approvals/${id}`)).body.status).toBe('cancelled');
    expect((await events(w, pendingId, 2)).map(([e]) => e)).toEqual(['approval.requested', 'approval.cancelled']);
    expect(await events(w, grantedId, 3)).toEqual([
      ['approval.requested', undefined],
      ['approval.approved', 'kim'],
      ['approval.cancelled', undefined],
    ]);
    expect((await w.admin('POST', `/v1/approvals/${pendingId}/approve`, { approver: 'kim' })).status).toBe(409);
    // The revoked task's token opens nothing, granted or not.
    const after = await send(w, t.token, 'DELETE', '/github/repos/acme/app/branches/r2');
    expect(after.status).toBe(401);
    expect(gh.seen.length).toBe(before);
    await lines(w, [a1, a2, after]);
  });

  it('the webhook event is signed and carries no credential and no body beyond the preview', async () => {
    hook.reply(accept());
    const t = await maintainerTask(w);
    const body = JSON.stringify({ confirm: 'yes-delete-it', note: 'BODY-TAIL-MUST-NOT-LEAK' });
    const r = await send(w, t.token, 'DELETE', '/github/repos/acme/app/branches/tmp?access_token=leaky-query-token&force=true', body, {
      'x-api-key': 'header-secret-must-not-leak',
      cookie: 'session=cookie-secret-must-not-leak',
    });
    const id = expectStepUp(r);
    const evs = hook.forApproval(id);
    expect(evs).toHaveLength(1);
    const ev = evs[0];

    const sig = ev!.headers['warden-signature'] as string;
    expect(sig).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(ev!.verified).toBe(true);
    expect(verifySignature(SECRET, sig, ev!.raw)).toBe(true);
    expect(verifySignature('another-secret-0123456789', sig, ev!.raw)).toBe(false);
    expect(verifySignature(SECRET, sig, ev!.raw.replace('DELETE', 'GET'))).toBe(false);
    expect(verifySignature(SECRET, sig, ev!.raw, { now: Math.floor(Date.now() / 1000) + 3600 })).toBe(false); // stale
    expect(ev!.headers['content-type']).toMatch(/^application\/json/);

    expect(ev!.body).toMatchObject({
      type: 'approval.requested',
      approval: { id, status: 'pending', expires_at: r.body.expires_at },
      // step_up.approval_url's default: the console page on the admin listener's bound address.
      approval_url: `${w.adminUrl}/console/approvals/${id}`,
      decision_id: r.id,
      risk: 'high',
      approvers: ['security-oncall'],
      request: {
        upstream: 'github',
        method: 'DELETE',
        path: '/repos/acme/app/branches/tmp',
        query: { access_token: ['**REDACTED**'], force: ['true'] },
        task_id: t.task_id,
        agent_id: 'agent-1',
        user_id: 'dana',
        body_digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
        size: Buffer.byteLength(body),
        body_preview: body.slice(0, 16),
        body_truncated: true,
      },
    });
    expect(typeof ev!.body.reason).toBe('string');
    expect(ev!.body.request.headers).toBeUndefined();
    for (const secret of [...Object.values(LANE_SECRETS), SECRET, ADMIN_TOKEN, t.token, 'leaky-query-token', 'BODY-TAIL', 'yes-delete-it', 'header-secret', 'cookie-secret']) {
      expect(ev!.raw).not.toContain(secret);
    }
    // The decision log holds no credential either.
    const [line] = await lines(w, [r]);
    const text = JSON.stringify(line);
    for (const secret of [...Object.values(LANE_SECRETS), SECRET, t.token, 'header-secret', 'cookie-secret']) expect(text).not.toContain(secret);
  });
});
