import { describe, expect, it, onTestFinished } from 'vitest';
import { SqliteApprovalStore } from '../../../src/store/sqlite/approval-store.js';
import { bindingDigest } from '../../../src/stepup/binding.js';
import { StepUpManager, type ApprovalEvent } from '../../../src/stepup/manager.js';
import { WebhookClient } from '../../../src/stepup/webhook.js';
import type { ApprovalEvents } from '../../../src/store/approvals.js';
import { LocalApprovalEvents } from '../../../src/store/local/approval-events.js';
import { openDatabase } from '../../../src/store/sqlite/database.js';
import { closedPortUrl, httpBinding, type HttpCallBinding, SECRET, startReceiver, summaryOf, tempStateDir, type Answer } from './fixtures.js';

interface Setup {
  manager: StepUpManager;
  events: ApprovalEvent[];
  clock: { now: number };
  dir: string;
  logs: { level: string; obj: object; msg: string }[];
}

function setup(opts: { webhookUrl?: string; retries?: number; dir?: string; ttl?: number; previewBytes?: number; events?: ApprovalEvents } = {}): Setup {
  const dir = opts.dir ?? tempStateDir();
  const db = openDatabase(dir);
  const logs: Setup['logs'] = [];
  const logger = { warn: (obj: object, msg: string) => logs.push({ level: 'warn', obj, msg }), info: (obj: object, msg: string) => logs.push({ level: 'info', obj, msg }) };
  const webhook = opts.webhookUrl ? new WebhookClient({ url: opts.webhookUrl, timeout: 2000, retries: opts.retries ?? 2, backoff: 10, secret: SECRET }, logger) : undefined;
  const events: ApprovalEvent[] = [];
  const clock = { now: Date.now() };
  const manager = new StepUpManager({ ttl: opts.ttl ?? 60_000, body_preview_bytes: opts.previewBytes ?? 0 }, new SqliteApprovalStore(db), webhook, (e) => events.push(e), { now: () => clock.now, sweepIntervalMs: 20, logger, approvalUrl: (id) => `https://console.example/console/approvals/${id}`, ...(opts.events && { events: opts.events }) });
  onTestFinished(async () => {
    await manager.close();
    db.close();
  });
  return { manager, events, clock, dir, logs };
}

function params(b: HttpCallBinding = httpBinding()) {
  return { binding: b, decision_id: 'dec-1', reason: 'merge to main', risk: 'high', approvers: ['release'], summary: summaryOf(b) };
}

const accept = (): Answer => ({ status: 202 });

describe('StepUpManager.request', () => {
  it('knows which tasks may have approvals, so other calls skip the lookup', async () => {
    const { manager, clock } = setup({ ttl: 5_000 });
    expect(manager.mayHaveApprovals('task-1')).toBe(false);
    await manager.request(params());
    expect(manager.mayHaveApprovals('task-1')).toBe(true);
    expect(manager.mayHaveApprovals('task-2')).toBe(false);
    clock.now += 6_000;
    await manager.sweep();
    expect(manager.mayHaveApprovals('task-1')).toBe(false);
  });

  it('never lets an approval outlive its task', async () => {
    const { manager, clock } = setup({ ttl: 600_000 });
    const soon = await manager.request({ ...params(), not_after: clock.now + 5_000 });
    expect(soon.expires_at).toBe(clock.now + 5_000);
    const other = await manager.request({ ...params(httpBinding({ path: '/other' })), not_after: clock.now + 3_600_000 });
    expect(other.expires_at).toBe(clock.now + 600_000);
  });

  it('turns 20 concurrent identical calls into one approval and one webhook', async () => {
    const r = await startReceiver(() => ({ status: 202, delayMs: 50 }));
    const { manager, events } = setup({ webhookUrl: r.url });
    const all = await Promise.all(Array.from({ length: 20 }, () => manager.request(params())));
    expect(new Set(all.map((a) => a.id)).size).toBe(1);
    expect(r.hits).toBe(1);
    expect(await manager.list('pending')).toHaveLength(1);
    expect(events.filter((e) => e.event === 'approval.requested')).toHaveLength(1);
    // A later identical call while it is pending joins it, still without a second webhook.
    expect((await manager.request(params())).id).toBe(all[0]!.id);
    expect(r.hits).toBe(1);
  });

  it('sends the signed event with the call summary and nothing beyond the preview', async () => {
    const r = await startReceiver(accept);
    const { manager } = setup({ webhookUrl: r.url, previewBytes: 4 });
    const b = httpBinding();
    const detail = { task_risk: 'low', mcp_arguments: { branch: 'ARGUMENT-STAYS-IN-THE-POD' } };
    const a = await manager.request({ ...params(b), summary: { ...summaryOf(b), body_preview: 'secret-body', body_truncated: false }, detail });
    // The console's detail is stored with the approval but never sent out.
    expect((await manager.get(a.id))!.detail).toEqual(detail);
    const d = r.deliveries[0]!;
    expect(d.signatureValid).toBe(true);
    expect(d.event).toMatchObject({
      type: 'approval.requested',
      approval: { id: a.id, status: 'pending', expires_at: new Date(a.expires_at).toISOString() },
      approval_url: `https://console.example/console/approvals/${a.id}`,
      decision_id: 'dec-1',
      reason: 'merge to main',
      risk: 'high',
      approvers: ['release'],
      request: { task_id: 'task-1', upstream: 'github', method: 'POST', path: b.path, body_digest: b.body_digest, body_preview: 'secr', body_truncated: true },
    });
    expect(d.raw).not.toContain('secret-body');
    expect(d.raw).not.toContain('ARGUMENT-STAYS-IN-THE-POD');
  });

  it('applies an immediate approve from the webhook; the grant is single use', async () => {
    const r = await startReceiver(() => ({ status: 200, body: { decision: 'approve', approver: 'alice', reason: 'fine' } }));
    const { manager, events } = setup({ webhookUrl: r.url });
    const a = await manager.request(params());
    expect(a).toMatchObject({ status: 'approved', approver: 'alice', decision_reason: 'fine' });
    const digest = bindingDigest(httpBinding());
    const grant = await manager.findGrant(digest);
    expect(grant).toEqual({ id: a.id, approver: 'alice', approved_at: new Date(a.decided_at!).toISOString() });
    expect(await manager.findGrant(bindingDigest(httpBinding({ path: '/other' })))).toBeUndefined();
    expect(await Promise.all([manager.consume(a.id), manager.consume(a.id)])).toEqual([true, false]);
    expect(await manager.findGrant(digest)).toBeUndefined();
    expect(events.map((e) => e.event)).toEqual(['approval.requested', 'approval.approved', 'approval.used']);
    expect(events[1]).toMatchObject({ approver: 'alice', reason: 'fine', task_id: 'task-1' });
  });

  it('applies an immediate deny and reports it by digest', async () => {
    const r = await startReceiver(() => ({ status: 200, body: { decision: 'deny', approver: 'bob', reason: 'not today' } }));
    const { manager } = setup({ webhookUrl: r.url });
    const a = await manager.request(params());
    expect(a.status).toBe('denied');
    expect(await manager.findDenial(bindingDigest(httpBinding()))).toEqual({ id: a.id, approver: 'bob', reason: 'not today' });
    expect(await manager.findGrant(bindingDigest(httpBinding()))).toBeUndefined();
  });

  it('after 202, an admin approve wakes the waiter', async () => {
    const r = await startReceiver(accept);
    const { manager } = setup({ webhookUrl: r.url });
    const a = await manager.request(params());
    expect(a.status).toBe('pending');
    const waiting = manager.wait(a.id, 5000);
    expect(manager.held()).toBe(1);
    await manager.approve(a.id, 'carol', 'checked');
    expect(await waiting).toBe('approved');
    expect(manager.held()).toBe(0);
    await expect(manager.deny(a.id, 'dave', 'too late')).rejects.toThrow(expect.objectContaining({ code: 'APPROVAL_CONFLICT' }));
    expect(await manager.approve('unknown', 'dave')).toBeUndefined(); // the admin API answers ADMIN_NOT_FOUND
  });

  it('wait ends on timeout or abort and leaves the approval pending', async () => {
    const { manager } = setup();
    const a = await manager.request(params());
    expect(await manager.wait(a.id, 30)).toBe('timeout');
    const ac = new AbortController();
    const waiting = manager.wait(a.id, 5000, ac.signal);
    ac.abort();
    expect(await waiting).toBe('aborted');
    expect((await manager.get(a.id))!.status).toBe('pending');
    await manager.deny(a.id, 'bob', 'no');
    expect(await manager.wait(a.id, 5000)).toBe('denied');
  });

  it.each([
    ['refuses the connection', 'closed'],
    ['answers 500', 500],
  ] as const)('retries a webhook that %s, then keeps the approval pending', async (_name, kind) => {
    const r = kind === 500 ? await startReceiver(() => ({ status: 500 })) : undefined;
    const { manager, logs } = setup({ webhookUrl: r ? r.url : await closedPortUrl(), retries: 2 });
    const a = await manager.request(params());
    if (r) expect(r.hits).toBe(3);
    expect(a.status).toBe('pending');
    // Two retry warnings, then the failure is recorded against the approval; no secret in logs.
    expect(logs.filter((l) => l.msg.includes('will retry'))).toHaveLength(2);
    expect(logs.at(-1)).toMatchObject({ level: 'warn', obj: { approval_id: a.id, attempts: 3 } });
    expect(JSON.stringify(logs)).not.toContain(SECRET);
    expect((await manager.approve(a.id, 'erin'))!.status).toBe('approved');
  });
});

describe('StepUpManager lifecycle', () => {
  it('expires approvals in the sweep and wakes waiters', async () => {
    const { manager, events, clock } = setup({ ttl: 1000 });
    manager.start();
    const a = await manager.request(params());
    const waiting = manager.wait(a.id, 60_000);
    clock.now += 1000;
    expect(await waiting).toBe('expired');
    expect((await manager.get(a.id))!.status).toBe('expired');
    expect(events.map((e) => e.event)).toEqual(['approval.requested', 'approval.expired']);
    // A new identical call after expiry opens a new approval.
    expect((await manager.request(params())).id).not.toBe(a.id);
  });

  it('an unused grant expires and cannot be consumed', async () => {
    const { manager, clock } = setup({ ttl: 1000 });
    const a = await manager.request(params());
    await manager.approve(a.id, 'alice');
    clock.now += 1000;
    expect(await manager.findGrant(bindingDigest(httpBinding()))).toBeUndefined();
    expect(await manager.consume(a.id)).toBe(false);
    expect(await manager.sweep()).toEqual([a.id]);
  });

  it('keeps pending and approved approvals across a restart', async () => {
    const first = setup();
    const p = await first.manager.request(params());
    const g = await first.manager.request(params(httpBinding({ path: '/granted' })));
    await first.manager.approve(g.id, 'alice');
    await first.manager.close();
    const second = setup({ dir: first.dir });
    expect((await second.manager.get(p.id))!.status).toBe('pending');
    expect((await second.manager.request(params())).id).toBe(p.id);
    expect((await second.manager.findGrant(bindingDigest(httpBinding({ path: '/granted' }))))?.id).toBe(g.id);
    expect(await second.manager.consume(g.id)).toBe(true);
  });

  it('a decision taken by another manager on the same stores wakes this one\'s waiter', async () => {
    const events = new LocalApprovalEvents();
    const one = setup({ events });
    const two = setup({ dir: one.dir, events });
    const a = await one.manager.request(params());
    const waiting = one.manager.wait(a.id, 60_000);
    await two.manager.approve(a.id, 'alice');
    expect(await waiting).toBe('approved');
    const denied = await one.manager.request(params(httpBinding({ path: '/d' })));
    const waitingDeny = two.manager.wait(denied.id, 60_000);
    await one.manager.deny(denied.id, 'bob', 'no');
    expect(await waitingDeny).toBe('denied');
  });

  it('cancelForTask cancels pending and granted approvals and wakes waiters (as expired)', async () => {
    const { manager, events } = setup();
    const p = await manager.request(params());
    const g = await manager.request(params(httpBinding({ path: '/g' })));
    const other = await manager.request(params(httpBinding({ task_id: 'task-2' })));
    await manager.approve(g.id, 'alice');
    const waiting = manager.wait(p.id, 5000);
    await manager.cancelForTask('task-1');
    expect((await manager.list('cancelled')).map((a) => a.id).sort()).toEqual([g.id, p.id].sort());
    expect(await waiting).toBe('expired');
    expect(await manager.findGrant(bindingDigest(httpBinding({ path: '/g' })))).toBeUndefined();
    expect((await manager.get(other.id))!.status).toBe('pending');
    expect(events.filter((e) => e.event === 'approval.cancelled').map((e) => e.task_id)).toEqual(['task-1', 'task-1']);
  });

  it('close wakes waiters, refuses new requests and is safe twice', async () => {
    const { manager } = setup();
    const a = await manager.request(params());
    const waiting = manager.wait(a.id, 60_000);
    await manager.close();
    await manager.close();
    expect(await waiting).toBe('closed');
    expect(await manager.wait(a.id, 60_000)).toBe('closed');
    await expect(manager.request(params())).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });
});
