import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../../src/store/sqlite/database.js';
import { SqliteTaskStore } from '../../../../src/store/sqlite/task-store.js';
import type { TaskRecord } from '../../../../src/store/tasks.js';
import { tempDir } from '../../identity/fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function open(dir: string): { db: Db; store: SqliteTaskStore } {
  const db = openDatabase(dir);
  cleanups.push(() => db.open && db.close());
  return { db, store: new SqliteTaskStore(db) };
}

const rec = (id: string, over: Partial<TaskRecord> = {}): TaskRecord => ({
  id,
  agent: 'agent-1',
  user: { id: 'u-1', role: 'dev' },
  stage: 'plan',
  risk: 'low',
  scopes: ['repo:read'],
  created_at: 1_000,
  expires_at: 10_000_000_000_000,
  ...over,
});

describe('SqliteTaskStore', () => {
  it('creates, reads and updates a task', () => {
    const { store } = open(tempDir((f) => cleanups.push(f)));
    store.create(rec('t1'));
    expect(store.get('t1')).toMatchObject({ id: 't1', stage: 'plan', risk: 'low', user: { id: 'u-1', role: 'dev' } });
    expect(store.update('t1', { stage: 'execute' })).toMatchObject({ stage: 'execute', risk: 'low' });
    expect(store.get('t1')?.stage).toBe('execute');
    expect(store.update('nope', { stage: 'execute' })).toBeUndefined();
    expect(store.get('nope')).toBeUndefined();
  });

  it('hands out frozen records, so policy input cannot change the cache', () => {
    const { store } = open(tempDir((f) => cleanups.push(f)));
    store.create(rec('t1'));
    const got = store.get('t1')!;
    expect(() => {
      (got.user as unknown as { role: string }).role = 'admin';
    }).toThrow(TypeError);
    expect(() => (got.scopes as string[]).push('x')).toThrow(TypeError);
  });

  it('revokes once', () => {
    const { store } = open(tempDir((f) => cleanups.push(f)));
    store.create(rec('t1'));
    expect(store.revoke('t1', 5_000)).toBe(true);
    expect(store.revoke('t1', 6_000)).toBe(false);
    expect(store.get('t1')?.revoked_at).toBe(5_000);
    expect(store.revoke('unknown', 1)).toBe(false);
  });

  it('counts calls in total and per stage', () => {
    const { store } = open(tempDir((f) => cleanups.push(f)));
    store.create(rec('t1'));
    store.recordCall('t1', 'plan');
    store.recordCall('t1', 'plan');
    store.recordCall('t1', 'execute');
    expect(store.usage('t1', 'plan')).toEqual({ calls: 3, stage_calls: 2 });
    expect(store.usage('t1', 'execute')).toEqual({ calls: 3, stage_calls: 1 });
    expect(store.usage('t1', 'review')).toEqual({ calls: 3, stage_calls: 0 });
    store.recordCall('unknown', 'plan'); // no task, no row, no throw
    expect(store.usage('unknown', 'plan')).toEqual({ calls: 0, stage_calls: 0 });
  });

  it('survives a reopen: revoked stays revoked, stage and usage are kept', () => {
    const dir = tempDir((f) => cleanups.push(f));
    const first = open(dir);
    first.store.create(rec('t1'));
    first.store.create(rec('t2'));
    first.store.update('t1', { stage: 'review', risk: 'high' });
    first.store.recordCall('t1', 'review');
    first.store.recordCall('t1', 'review');
    first.store.revoke('t2', 7_000);
    first.store.close(); // writes the batched call counts
    first.db.close();

    const second = open(dir);
    expect(second.store.get('t1')).toMatchObject({ stage: 'review', risk: 'high', scopes: ['repo:read'], user: { id: 'u-1', role: 'dev' } });
    expect(second.store.get('t1')?.revoked_at).toBeUndefined();
    expect(second.store.usage('t1', 'review')).toEqual({ calls: 2, stage_calls: 2 });
    expect(second.store.get('t2')?.revoked_at).toBe(7_000);
    second.store.recordCall('t1', 'review');
    expect(second.store.usage('t1', 'review')).toEqual({ calls: 3, stage_calls: 3 });
  });

  it('writes call counts in batches: none before the flush, all after it', () => {
    const dir = tempDir((f) => cleanups.push(f));
    const first = open(dir);
    first.store.create(rec('t1'));
    first.store.recordCall('t1', 'plan');
    expect(first.store.usage('t1', 'plan')).toEqual({ calls: 1, stage_calls: 1 });
    const peek = open(dir);
    expect(peek.store.usage('t1', 'plan')).toEqual({ calls: 0, stage_calls: 0 });
    peek.store.close();
    peek.db.close();
    first.store.flush();
    const after = open(dir);
    expect(after.store.usage('t1', 'plan')).toEqual({ calls: 1, stage_calls: 1 });
    after.store.close();
    after.db.close();
    first.store.close();
    first.db.close();
  });

  it('purges expired tasks from the database and the cache', () => {
    const dir = tempDir((f) => cleanups.push(f));
    const { store, db } = open(dir);
    store.create(rec('old', { expires_at: 2_000 }));
    store.create(rec('live', { expires_at: 9_000 }));
    store.recordCall('old', 'plan');
    expect(store.purgeExpired(5_000)).toBe(1);
    expect(store.get('old')).toBeUndefined();
    expect(store.get('live')).toMatchObject({ id: 'live', expires_at: 9_000 });
    expect(db.prepare('SELECT COUNT(*) AS n FROM task_stage_calls').get()).toEqual({ n: 0 });
  });
});
