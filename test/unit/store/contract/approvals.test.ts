// The ApprovalStore contract on every backend (backends.ts): what step-up relies on, whichever
// process asks. One live approval per call, decided once from pending, consumed once; nothing is
// decided or consumed at or past its expiry; cancellation and expiry take pending and approved
// approvals and leave denials; the list is newest first.

import { describe, expect, it } from 'vitest';
import type { Approval, NewApproval } from '../../../../src/store/approvals.js';
import { T0, newApproval } from '../approval-fixture.js';
import { useBackends } from './backends.js';

const backends = useBackends();

const TTL = 60_000;
const approval = newApproval;

/** What the store holds for a new approval: pending, undecided, with its detail or null. */
const pending = (a: NewApproval): Approval => ({ ...a, detail: a.detail ?? null, status: 'pending', approver: null, decision_reason: null, decided_at: null, used_at: null });

describe.each(Object.keys(backends))('ApprovalStore on %s', (kind) => {
  const open = backends[kind]!;

  it('inserts once per call: the identical call finds the live approval instead of a second one', async () => {
    const { stores, reopen } = await open();
    const a = approval('a1', { detail: { tool: 'delete_branch' } });
    expect(await stores.approvals.findLiveOrInsert('sha256:d1', T0, () => a)).toEqual({ approval: pending(a), created: true });
    const other = await reopen();
    expect(await other.approvals.findLiveOrInsert('sha256:d1', T0 + 1, () => approval('a2'))).toEqual({ approval: pending(a), created: false });
    expect(await other.approvals.get('a2')).toBeUndefined();
    expect(await stores.approvals.findLive('sha256:d1', T0 + 1)).toEqual(pending(a));
    expect(await stores.approvals.findLive('sha256:other', T0 + 1)).toBeUndefined();
    // Past its expiry it is no longer live: the next identical call makes a new one.
    expect(await stores.approvals.findLive('sha256:d1', T0 + TTL)).toBeUndefined();
    const next = approval('a3', { created_at: T0 + TTL, expires_at: T0 + 2 * TTL });
    expect(await stores.approvals.findLiveOrInsert('sha256:d1', T0 + TTL, () => next)).toEqual({ approval: pending(next), created: true });
  });

  it('decides only a pending approval, once, and not at or past its expiry', async () => {
    const { stores } = await open();
    await stores.approvals.findLiveOrInsert('sha256:d1', T0, () => approval('a1'));
    await stores.approvals.findLiveOrInsert('sha256:d2', T0, () => approval('a2', { binding_digest: 'sha256:d2' }));
    const decided = await stores.approvals.decide('a1', 'approved', 'bob', 'checked', T0 + 10);
    expect(decided).toEqual({ changed: true, approval: { ...pending(approval('a1')), status: 'approved', approver: 'bob', decision_reason: 'checked', decided_at: T0 + 10 } });
    expect(await stores.approvals.decide('a1', 'denied', 'eve', 'no', T0 + 20)).toEqual({ changed: false, approval: decided!.approval });
    expect(await stores.approvals.decide('a2', 'approved', 'bob', undefined, T0 + TTL)).toEqual({ changed: false, approval: pending(approval('a2', { binding_digest: 'sha256:d2' })) });
    expect(await stores.approvals.decide('nope', 'approved', 'bob', undefined, T0)).toBeUndefined();
  });

  it('consumes an approved approval exactly once, never a pending, denied or expired one', async () => {
    const { stores, reopen } = await open();
    for (const [id, digest] of [['ok', 'd1'], ['late', 'd2'], ['no', 'd3'], ['wait', 'd4']] as const) {
      await stores.approvals.findLiveOrInsert(`sha256:${digest}`, T0, () => approval(id, { binding_digest: `sha256:${digest}` }));
    }
    await stores.approvals.decide('ok', 'approved', 'bob', undefined, T0 + 1);
    await stores.approvals.decide('late', 'approved', 'bob', undefined, T0 + 1);
    await stores.approvals.decide('no', 'denied', 'bob', 'not today', T0 + 1);
    const other = await reopen();
    const races = await Promise.all([stores.approvals.consume('ok', T0 + 2), other.approvals.consume('ok', T0 + 2), stores.approvals.consume('ok', T0 + 3)]);
    expect(races.filter(Boolean)).toHaveLength(1);
    expect(await stores.approvals.get('ok')).toMatchObject({ status: 'used', used_at: T0 + 2 });
    expect(await stores.approvals.consume('late', T0 + TTL)).toBe(false);
    expect(await stores.approvals.consume('no', T0 + 2)).toBe(false);
    expect(await stores.approvals.consume('wait', T0 + 2)).toBe(false);
    expect(await stores.approvals.consume('nope', T0 + 2)).toBe(false);
    // A used approval is no longer live: the identical call asks again.
    expect(await stores.approvals.findLive('sha256:d1', T0 + 3)).toBeUndefined();
  });

  it('cancels the pending and approved approvals of one task, leaving denials and other tasks', async () => {
    const { stores } = await open();
    const ids = { pend: 'd1', appr: 'd2', deny: 'd3' } as const;
    for (const [id, d] of Object.entries(ids)) await stores.approvals.findLiveOrInsert(`sha256:${d}`, T0, () => approval(id, { binding_digest: `sha256:${d}` }));
    await stores.approvals.findLiveOrInsert('sha256:d9', T0, () => approval('theirs', { binding_digest: 'sha256:d9', task_id: 'task-2' }));
    await stores.approvals.decide('appr', 'approved', 'bob', undefined, T0 + 1);
    await stores.approvals.decide('deny', 'denied', 'bob', 'no', T0 + 1);
    expect((await stores.approvals.cancelForTask('task-1', T0 + 2)).sort()).toEqual(['appr', 'pend']);
    expect(await stores.approvals.cancelForTask('task-1', T0 + 3)).toEqual([]);
    const status = async (id: string) => (await stores.approvals.get(id))!.status;
    expect([await status('pend'), await status('appr'), await status('deny'), await status('theirs')]).toEqual(['cancelled', 'cancelled', 'denied', 'pending']);
    expect((await stores.approvals.liveTaskIds(T0 + 3)).sort()).toEqual(['task-1', 'task-2']);
  });

  it('expires pending and approved approvals at their expiry, keeps denials, and reports each once', async () => {
    const { stores } = await open();
    await stores.approvals.findLiveOrInsert('sha256:d1', T0, () => approval('pend'));
    await stores.approvals.findLiveOrInsert('sha256:d2', T0, () => approval('appr', { binding_digest: 'sha256:d2' }));
    await stores.approvals.findLiveOrInsert('sha256:d3', T0, () => approval('deny', { binding_digest: 'sha256:d3' }));
    await stores.approvals.findLiveOrInsert('sha256:d4', T0, () => approval('later', { binding_digest: 'sha256:d4', task_id: null, expires_at: T0 + 2 * TTL }));
    await stores.approvals.decide('appr', 'approved', 'bob', undefined, T0 + 1);
    await stores.approvals.decide('deny', 'denied', 'bob', 'no', T0 + 1);
    expect(await stores.approvals.expire(T0 + TTL - 1)).toEqual([]);
    expect((await stores.approvals.expire(T0 + TTL)).sort()).toEqual(['appr', 'pend']);
    expect(await stores.approvals.expire(T0 + TTL)).toEqual([]);
    expect((await stores.approvals.get('deny'))!.status).toBe('denied');
    // Only the task-less approval is still live: '' stands for "no task".
    expect(await stores.approvals.liveTaskIds(T0 + TTL)).toEqual(['']);
  });

  it('lists newest first, by status, at most `limit`', async () => {
    const { stores } = await open();
    for (let i = 0; i < 4; i++) {
      await stores.approvals.findLiveOrInsert(`sha256:n${i}`, T0, () => approval(`n${i}`, { binding_digest: `sha256:n${i}`, created_at: T0 + i }));
    }
    await stores.approvals.decide('n1', 'approved', 'bob', undefined, T0 + 10);
    expect((await stores.approvals.list()).map((a) => a.id)).toEqual(['n3', 'n2', 'n1', 'n0']);
    expect((await stores.approvals.list({ status: 'pending' })).map((a) => a.id)).toEqual(['n3', 'n2', 'n0']);
    expect((await stores.approvals.list({ status: 'pending', limit: 2 })).map((a) => a.id)).toEqual(['n3', 'n2']);
    expect((await stores.approvals.list({ status: 'approved' })).map((a) => a.id)).toEqual(['n1']);
    expect(await stores.approvals.list({ status: 'used' })).toEqual([]);
  });
});
