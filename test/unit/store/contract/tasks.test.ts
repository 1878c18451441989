// The TaskStore and UsageStore contract on every backend (backends.ts): what identity, the task
// service and the call caps rely on. Ids are unique; a revocation happens once and is durable;
// "live" and "expired" meet at expires_at; counts are per task and stage, and an unknown task's
// counts are dropped (not kept for a task that does not exist).

import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../../../src/store/tasks.js';
import { until } from '../../../helpers/wait.js';
import { useBackends } from './backends.js';

const backends = useBackends();

function task(id: string, over: Partial<TaskRecord> = {}): TaskRecord {
  return { id, agent: 'agent-1', user: { id: 'alice', roles: ['maintainer'] }, stage: 'plan', risk: 'low', scopes: ['github:read'], created_at: 1_000, expires_at: 10_000, ...over };
}

describe.each(Object.keys(backends))('TaskStore and UsageStore on %s', (kind) => {
  const open = backends[kind]!;

  it('round-trips a task and refuses a second create with the same id, keeping the first', async () => {
    const { stores } = await open();
    const t = task('t1');
    await stores.tasks.create(t);
    expect(await stores.tasks.get('t1')).toEqual(t);
    await expect(Promise.resolve().then(() => stores.tasks.create(task('t1', { agent: 'intruder' })))).rejects.toThrow();
    expect(await stores.tasks.get('t1')).toEqual(t);
    expect(await stores.tasks.get('nope')).toBeUndefined();
  });

  it('hands out frozen records', async () => {
    const { stores } = await open();
    await stores.tasks.create(task('t1'));
    const got = (await stores.tasks.get('t1'))!;
    expect(Object.isFrozen(got)).toBe(true);
  });

  it('update changes stage and risk, keeps the rest, and answers undefined for an unknown task', async () => {
    const { stores, reopen } = await open();
    await stores.tasks.create(task('t1'));
    expect(await stores.tasks.update('t1', { stage: 'execute' })).toEqual(task('t1', { stage: 'execute' }));
    expect(await stores.tasks.update('t1', { risk: 'high' })).toEqual(task('t1', { stage: 'execute', risk: 'high' }));
    expect(await stores.tasks.update('nope', { stage: 'execute' })).toBeUndefined();
    expect(await (await reopen()).tasks.get('t1')).toEqual(task('t1', { stage: 'execute', risk: 'high' }));
  });

  it('revokes once: true for the first call, false after and for an unknown task; seen by the next reader', async () => {
    const { stores, reopen } = await open();
    await stores.tasks.create(task('t1'));
    expect(await stores.tasks.get('t1')).toEqual(task('t1'));
    expect(await stores.tasks.revoke('t1', 5_000)).toBe(true);
    expect(await stores.tasks.revoke('t1', 6_000)).toBe(false);
    expect(await stores.tasks.revoke('nope', 6_000)).toBe(false);
    expect(await stores.tasks.get('t1')).toEqual(task('t1', { revoked_at: 5_000 }));
    expect(await (await reopen()).tasks.get('t1')).toEqual(task('t1', { revoked_at: 5_000 }));
  });

  it('live: neither revoked nor expired at now (a task expiring at now is no longer live)', async () => {
    const { stores } = await open();
    await stores.tasks.create(task('ends-at-5', { expires_at: 5_000 }));
    await stores.tasks.create(task('ends-at-9', { expires_at: 9_000 }));
    await stores.tasks.create(task('revoked', { expires_at: 9_000 }));
    await stores.tasks.revoke('revoked', 2_000);
    const live = async (now: number) => (await stores.tasks.live(now)).map((t) => t.id).sort();
    expect(await live(4_999)).toEqual(['ends-at-5', 'ends-at-9']);
    expect(await live(5_000)).toEqual(['ends-at-9']);
    expect(await live(9_000)).toEqual([]);
  });

  it('purgeExpired deletes tasks that expired strictly before now, with their counts, and says how many', async () => {
    const { stores } = await open();
    await stores.tasks.create(task('old', { expires_at: 5_000 }));
    await stores.tasks.create(task('edge', { expires_at: 6_000 }));
    stores.usage.recordCall('old', 'plan');
    await until(async () => (await stores.usage.usage('old', 'plan')).calls === 1);
    expect(await stores.tasks.purgeExpired(6_000)).toBe(1);
    expect(await stores.tasks.get('old')).toBeUndefined();
    expect(await stores.usage.usage('old', 'plan')).toEqual({ calls: 0, stage_calls: 0 });
    expect((await stores.tasks.get('edge'))!.id).toBe('edge');
    expect(await stores.tasks.purgeExpired(6_000)).toBe(0);
  });

  it('counts calls per task and per stage, including counts not yet written, and across a restart', async () => {
    const { stores, reopen } = await open();
    await stores.tasks.create(task('t1'));
    await stores.tasks.create(task('t2'));
    for (const stage of ['plan', 'plan', 'execute']) stores.usage.recordCall('t1', stage);
    stores.usage.recordCall('t2', 'plan');
    await until(async () => (await stores.usage.usage('t1', 'plan')).calls === 3);
    expect(await stores.usage.usage('t1', 'plan')).toEqual({ calls: 3, stage_calls: 2 });
    expect(await stores.usage.usage('t1', 'execute')).toEqual({ calls: 3, stage_calls: 1 });
    expect(await stores.usage.usage('t1', 'review')).toEqual({ calls: 3, stage_calls: 0 });
    expect(await stores.usage.usage('t2', 'plan')).toEqual({ calls: 1, stage_calls: 1 });
    await stores.close();
    const again = await reopen();
    expect(await again.usage.usage('t1', 'plan')).toEqual({ calls: 3, stage_calls: 2 });
  });

  it('shows a counted call to the very next read, and keeps one counted just before close', async () => {
    const { stores, reopen } = await open();
    await stores.tasks.create(task('t1'));
    stores.usage.recordCall('t1', 'plan');
    // No waiting: the next request's read of the counters already sees the call.
    expect(await stores.usage.usage('t1', 'plan')).toEqual({ calls: 1, stage_calls: 1 });
    stores.usage.recordCall('t1', 'execute');
    await stores.close();
    const again = await reopen();
    expect(await again.usage.usage('t1', 'execute')).toEqual({ calls: 2, stage_calls: 1 });
  });

  it('drops the counts of an unknown task: no usage appears for it, nor a task', async () => {
    const { stores } = await open();
    await stores.tasks.create(task('known'));
    stores.usage.recordCall('ghost', 'plan');
    stores.usage.recordCall('known', 'plan');
    // The known task's count landing shows the ghost's (sent first) was handled too.
    await until(async () => (await stores.usage.usage('known', 'plan')).calls === 1);
    expect(await stores.usage.usage('ghost', 'plan')).toEqual({ calls: 0, stage_calls: 0 });
    expect(await stores.tasks.get('ghost')).toBeUndefined();
  });
});
