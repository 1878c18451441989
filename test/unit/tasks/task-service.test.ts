import { afterEach, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { TaskTokens } from '../../../src/identity/task-tokens.js';
import { openDatabase } from '../../../src/store/sqlite/database.js';
import { TaskService, type TaskEvent } from '../../../src/tasks/task-service.js';
import { SqliteTaskStore } from '../../../src/store/sqlite/task-store.js';
import { makeConfig, tasksOf, tempDir } from '../identity/fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

const NOW = Date.parse('2030-01-01T00:00:00.000Z');
const body = { agent: 'agent-1', user: { id: 'u-1', team: 'web' }, stage: 'plan', risk: 'low', scopes: ['repo:read'] };

async function setup(raw: Record<string, unknown> = {}) {
  const dir = tempDir((f) => cleanups.push(f));
  const config = makeConfig(dir, raw);
  const db = openDatabase(dir);
  cleanups.push(() => db.close());
  const events: TaskEvent[] = [];
  const clock = { now: NOW };
  const service = new TaskService(config, tasksOf(new SqliteTaskStore(db)), await TaskTokens.create(config), {
    onEvent: (e) => events.push(e),
    now: () => clock.now,
  });
  return { service, events, clock };
}

describe('TaskService.create', () => {
  it('creates a task with the default ttl and a matching token', async () => {
    const { service, events } = await setup();
    const created = await service.create(body);
    expect(created.expires_at).toBe('2030-01-01T00:15:00.000Z');
    const claims = decodeJwt(created.token);
    expect(claims).toMatchObject({ sub: 'agent-1', tid: created.task_id, exp: (NOW + 900_000) / 1000 });
    expect(await service.get(created.task_id)).toMatchObject({ stage: 'plan', risk: 'low', user: { id: 'u-1', team: 'web' }, status: 'active', revoked_at: null, usage: { calls: 0, stage_calls: 0 } });
    expect(JSON.stringify(await service.get(created.task_id))).not.toContain(created.token);
    expect(events).toEqual([expect.objectContaining({ event: 'task.created', task_id: created.task_id, user_id: 'u-1' })]);
  });

  it.each([
    [{ ttl: '1h' }, '2030-01-01T01:00:00.000Z'],
    [{ ttl: 120 }, '2030-01-01T00:02:00.000Z'],
  ])('accepts ttl %j', async (extra, expires) => {
    const { service } = await setup();
    expect((await service.create({ ...body, ...extra })).expires_at).toBe(expires);
  });

  it.each([
    [{ ...body, agent: '' }, 'agent'],
    [{ ...body, user: 'u-1' }, 'user'],
    [{ ...body, user: { name: 'x' } }, 'user.id'],
    [{ ...body, stage: 'deploy' }, 'stage'],
    [{ ...body, risk: 'extreme' }, 'risk'],
    [{ ...body, scopes: [1] }, 'scopes'],
    [{ ...body, ttl: '9h' }, 'ttl'],
    [{ ...body, ttl: 'soon' }, 'ttl'],
    [{ ...body, stgae: 'plan' }, 'stgae'],
    [[], 'body'],
  ])('refuses %j naming %s', async (bad, field) => {
    const { service } = await setup();
    await expect(service.create(bad)).rejects.toMatchObject({ name: 'TaskInputError', message: expect.stringMatching(new RegExp(`^${field.replace('.', '\\.')}:`)) });
  });
});

describe('TaskService.patch', () => {
  const transitions = { tasks: { transitions: { plan: ['execute'], execute: ['review'], review: ['execute', 'done'] } } };

  it('moves along tasks.transitions and refuses other moves with 409', async () => {
    const { service, events } = await setup(transitions);
    const { task_id } = await service.create(body);
    await expect(service.patch(task_id, { stage: 'execute', risk: 'high' })).resolves.toMatchObject({ stage: 'execute', risk: 'high' });
    await expect(service.patch(task_id, { stage: 'done' })).rejects.toMatchObject({ code: 'TASK_TRANSITION_REFUSED', status: 409 });
    await expect(service.patch(task_id, { stage: 'execute' })).resolves.toMatchObject({ stage: 'execute' }); // staying is no move
    await expect(service.patch(task_id, { risk: 'medium' })).resolves.toMatchObject({ risk: 'medium' });
    expect(events.filter((e) => e.event === 'task.updated')).toHaveLength(3);
  });

  it('allows any move when transitions are empty', async () => {
    const { service } = await setup();
    const { task_id } = await service.create(body);
    await expect(service.patch(task_id, { stage: 'done' })).resolves.toMatchObject({ stage: 'done' });
    await expect(service.patch(task_id, { stage: 'plan' })).resolves.toMatchObject({ stage: 'plan' });
  });

  it('refuses to move a revoked or expired task, and bad bodies', async () => {
    const { service, clock } = await setup();
    const a = await service.create(body);
    await service.revoke(a.task_id);
    await expect(service.patch(a.task_id, { stage: 'execute' })).rejects.toMatchObject({ code: 'TASK_TRANSITION_REFUSED' });
    const b = await service.create({ ...body, ttl: '1m' });
    clock.now += 61_000;
    await expect(service.patch(b.task_id, { stage: 'execute' })).rejects.toMatchObject({ code: 'TASK_TRANSITION_REFUSED' });
    expect((await service.get(b.task_id))!.status).toBe('expired');
    await expect(service.patch(b.task_id, {})).rejects.toMatchObject({ name: 'TaskInputError', message: 'body: give stage, risk or both' });
    await expect(service.patch(b.task_id, { stage: 'nope' })).rejects.toMatchObject({ name: 'TaskInputError', message: expect.stringMatching(/^stage:/) });
    expect(await service.patch('missing', { stage: 'plan' })).toBeUndefined();
  });
});

describe('TaskService.revoke', () => {
  it('is idempotent, emits one event and runs the revoke hooks once', async () => {
    const { service, events, clock } = await setup();
    const { task_id } = await service.create(body);
    const seen: string[] = [];
    service.onRevoke((id) => {
      seen.push(id);
    });
    service.onRevoke(() => {
      throw new Error('a failing hook does not fail the revoke');
    });
    const first = (await service.revoke(task_id))!;
    clock.now += 5_000;
    const again = await service.revoke(task_id);
    expect(again).toEqual(first);
    expect(first.revoked_at).toBe('2030-01-01T00:00:00.000Z');
    expect(seen).toEqual([task_id]);
    expect(events.filter((e) => e.event === 'task.revoked')).toHaveLength(1);
    expect(await service.get(task_id)).toMatchObject({ status: 'revoked', revoked_at: first.revoked_at });
    expect(await service.revoke('missing')).toBeUndefined();
    expect(await service.get('missing')).toBeUndefined();
  });
});
