import { describe, expect, it } from 'vitest';
import { SqliteApprovalStore } from '../../../../src/store/sqlite/approval-store.js';
import { approvalView } from '../../../../src/stepup/approval-view.js';
import { openDatabase, type Db } from '../../../../src/store/sqlite/database.js';
import { onTestFinished } from 'vitest';
import { tempStateDir } from '../../stepup/fixtures.js';
import { T0, newApproval } from '../approval-fixture.js';

function open(dir: string): { db: Db; store: SqliteApprovalStore } {
  const db = openDatabase(dir);
  onTestFinished(() => {
    if (db.open) db.close();
  });
  return { db, store: new SqliteApprovalStore(db) };
}

const approval = newApproval;

describe('ApprovalStore', () => {
  it('inserts pending and reads back the JSON columns', () => {
    const { store } = open(tempStateDir());
    const a = store.insert(approval('a1'));
    expect(a).toMatchObject({ id: 'a1', status: 'pending', approvers: ['release-managers'], approver: null, used_at: null });
    expect(a.summary.path).toBe('/x');
    expect(store.get('nope')).toBeUndefined();
    expect(approvalView(a)).toMatchObject({ id: 'a1', expires_at: new Date(T0 + 60_000).toISOString() });
    expect(approvalView(a)).not.toHaveProperty('approver');
  });

  it('keeps the console detail, and adds its column to a database made before it', () => {
    const dir = tempStateDir();
    const old = openDatabase(dir);
    // The approvals table as it was before the detail column.
    old.exec(`CREATE TABLE approvals (id TEXT PRIMARY KEY, binding_digest TEXT NOT NULL, task_id TEXT, agent_id TEXT, upstream TEXT NOT NULL,
      method TEXT NOT NULL, path TEXT NOT NULL, summary TEXT NOT NULL, decision_id TEXT NOT NULL, reason TEXT, risk TEXT, approvers TEXT NOT NULL,
      status TEXT NOT NULL, approver TEXT, decision_reason TEXT, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, decided_at INTEGER, used_at INTEGER)`);
    old.prepare(`INSERT INTO approvals (id, binding_digest, upstream, method, path, summary, decision_id, approvers, status, created_at, expires_at)
      VALUES ('old', 'sha256:o', 'github', 'GET', '/', '{}', 'dec-0', '[]', 'pending', ${T0}, ${T0 + 60_000})`).run();
    old.close();
    const { store } = open(dir);
    expect(store.get('old')!.detail).toBeNull();
    const a = store.insert(approval('a2', { detail: { task_risk: 'low', mcp_arguments: { branch: 'tmp' } } }));
    expect(a.detail).toEqual({ task_risk: 'low', mcp_arguments: { branch: 'tmp' } });
    expect(store.insert(approval('a3', { binding_digest: 'sha256:d3' })).detail).toBeNull();
  });

  it('decides only from pending, once', () => {
    const { store } = open(tempStateDir());
    store.insert(approval('a1'));
    const { approval: a, changed } = store.decide('a1', 'approved', 'alice', 'ok', T0 + 1)!;
    expect(changed).toBe(true);
    expect(a).toMatchObject({ status: 'approved', approver: 'alice', decision_reason: 'ok', decided_at: T0 + 1 });
    expect(store.decide('a1', 'denied', 'bob', 'no', T0 + 2)).toEqual({ approval: store.get('a1'), changed: false });
    expect(store.decide('zz', 'denied', 'bob', 'no', T0 + 2)).toBeUndefined();
    expect(store.get('a1')!.approver).toBe('alice');
  });

  it('refuses to decide a pending approval past its expiry', () => {
    const { store } = open(tempStateDir());
    store.insert(approval('a1'));
    expect(store.decide('a1', 'approved', 'alice', undefined, T0 + 60_000)).toMatchObject({ approval: { id: 'a1', status: 'pending' }, changed: false });
  });

  it('consumes an approved approval exactly once', () => {
    const { store } = open(tempStateDir());
    store.insert(approval('a1'));
    expect(store.consume('a1', T0 + 1)).toBe(false); // pending is not consumable
    store.decide('a1', 'approved', 'alice', undefined, T0 + 1);
    const results = Array.from({ length: 20 }, () => store.consume('a1', T0 + 2));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(store.get('a1')).toMatchObject({ status: 'used', used_at: T0 + 2 });
  });

  it('consume is single use across two connections to the same file', () => {
    const dir = tempStateDir();
    const one = open(dir).store;
    const two = open(dir).store;
    one.insert(approval('a1'));
    one.decide('a1', 'approved', 'alice', undefined, T0 + 1);
    expect([one.consume('a1', T0 + 2), two.consume('a1', T0 + 2)].filter(Boolean)).toHaveLength(1);
  });

  it('does not consume an expired grant', () => {
    const { store } = open(tempStateDir());
    store.insert(approval('a1'));
    store.decide('a1', 'approved', 'alice', undefined, T0 + 1);
    expect(store.consume('a1', T0 + 60_000)).toBe(false);
  });

  it('findLive returns the newest live approval of the digest', () => {
    const { store } = open(tempStateDir());
    store.insert(approval('old', { created_at: T0 - 10, expires_at: T0 + 5 }));
    store.insert(approval('new', { created_at: T0 }));
    store.insert(approval('other', { binding_digest: 'sha256:d2' }));
    expect(store.findLive('sha256:d1', T0)!.id).toBe('new');
    store.decide('new', 'denied', 'bob', 'no', T0 + 1);
    expect(store.findLive('sha256:d1', T0 + 1)!.status).toBe('denied');
    expect(store.findLive('sha256:d1', T0 + 60_000)).toBeUndefined();
  });

  it('findLiveOrInsert inserts once', () => {
    const { store } = open(tempStateDir());
    const first = store.findLiveOrInsert('sha256:d1', T0, () => approval('a1'));
    const second = store.findLiveOrInsert('sha256:d1', T0, () => approval('a2'));
    expect([first.created, second.created]).toEqual([true, false]);
    expect(second.approval.id).toBe('a1');
  });

  it('expires due pending and approved approvals, keeps denials', () => {
    const { store } = open(tempStateDir());
    store.insert(approval('p'));
    store.insert(approval('a'));
    store.insert(approval('d'));
    store.insert(approval('later', { expires_at: T0 + 120_000 }));
    store.decide('a', 'approved', 'alice', undefined, T0 + 1);
    store.decide('d', 'denied', 'bob', 'no', T0 + 1);
    expect(store.expire(T0 + 59_999)).toEqual([]);
    expect(store.expire(T0 + 60_000).sort()).toEqual(['a', 'p']);
    expect(store.get('d')!.status).toBe('denied');
    expect(store.list({ status: 'expired' }).map((x) => x.id).sort()).toEqual(['a', 'p']);
    expect(store.list({ status: 'pending' }).map((x) => x.id)).toEqual(['later']);
    expect(store.list()).toHaveLength(4);
  });

  it('cancels the pending and approved approvals of a task', () => {
    const { store } = open(tempStateDir());
    store.insert(approval('p'));
    store.insert(approval('a'));
    store.insert(approval('u'));
    store.insert(approval('other', { task_id: 'task-2' }));
    store.decide('a', 'approved', 'alice', undefined, T0 + 1);
    store.decide('u', 'approved', 'alice', undefined, T0 + 1);
    store.consume('u', T0 + 2);
    expect(store.cancelForTask('task-1', T0 + 3).sort()).toEqual(['a', 'p']);
    expect(store.get('u')!.status).toBe('used');
    expect(store.get('other')!.status).toBe('pending');
  });

  it('survives closing and reopening the database file', () => {
    const dir = tempStateDir();
    const first = open(dir);
    first.store.insert(approval('p'));
    first.store.insert(approval('a'));
    first.store.decide('a', 'approved', 'alice', 'ok', T0 + 1);
    first.db.close();
    const { store } = open(dir);
    expect(store.get('p')!.status).toBe('pending');
    expect(store.get('a')).toMatchObject({ status: 'approved', approver: 'alice' });
    expect(store.consume('a', T0 + 2)).toBe(true);
  });
});
