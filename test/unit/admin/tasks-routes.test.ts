import { afterEach, describe, expect, it } from 'vitest';
import { tasksRoutes } from '../../../src/admin/tasks-routes.js';
import type { AdminRequest } from '../../../src/admin/route.js';
import { TaskTokens } from '../../../src/identity/task-tokens.js';
import { openDatabase } from '../../../src/store/sqlite/database.js';
import { TaskService } from '../../../src/tasks/task-service.js';
import { SqliteTaskStore } from '../../../src/store/sqlite/task-store.js';
import { makeConfig, tasksOf, tempDir } from '../identity/fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

async function setup() {
  const dir = tempDir((f) => cleanups.push(f));
  const config = makeConfig(dir, { tasks: { transitions: { plan: ['execute'] } } });
  const db = openDatabase(dir);
  cleanups.push(() => db.close());
  const route = tasksRoutes(new TaskService(config, tasksOf(new SqliteTaskStore(db)), await TaskTokens.create(config)));
  return (method: string, path: string, body?: unknown) => {
    const req: AdminRequest = { method, path, segments: path.split('/').filter(Boolean), query: new URLSearchParams(), body };
    return Promise.resolve(route(req));
  };
}

const body = { agent: 'agent-1', user: { id: 'u-1' }, stage: 'plan', risk: 'low', scopes: [] };

describe('tasksRoutes', () => {
  it('creates, reads, patches and revokes a task', async () => {
    const send = await setup();
    const created = await send('POST', '/v1/tasks', body);
    expect(created).toMatchObject({ status: 201, body: { task_id: expect.any(String), token: expect.any(String), expires_at: expect.any(String) } });
    const id = (created!.body as { task_id: string }).task_id;
    const got = await send('GET', `/v1/tasks/${id}`);
    expect(got).toMatchObject({ status: 200, body: { task_id: id, agent: 'agent-1', stage: 'plan', risk: 'low', user: { id: 'u-1' }, scopes: [], revoked_at: null, usage: { calls: 0, stage_calls: 0 } } });
    expect(got!.body).not.toHaveProperty('token');
    expect(await send('PATCH', `/v1/tasks/${id}`, { stage: 'execute' })).toMatchObject({ status: 200, body: { stage: 'execute' } });
    const del = await send('DELETE', `/v1/tasks/${id}`);
    expect(del).toMatchObject({ status: 200, body: { task_id: id, revoked_at: expect.any(String) } });
    expect(await send('DELETE', `/v1/tasks/${id}`)).toEqual(del);
  });

  it('maps faults to coded errors', async () => {
    const send = await setup();
    await expect(send('GET', '/v1/tasks/nope')).rejects.toMatchObject({ code: 'ADMIN_NOT_FOUND', status: 404 });
    await expect(send('DELETE', '/v1/tasks/nope')).rejects.toMatchObject({ code: 'ADMIN_NOT_FOUND' });
    await expect(send('PATCH', '/v1/tasks/nope', { stage: 'plan' })).rejects.toMatchObject({ code: 'ADMIN_NOT_FOUND', status: 404 });
    await expect(send('PATCH', '/v1/tasks/nope', { stage: 'nope' })).rejects.toMatchObject({ code: 'ADMIN_BAD_REQUEST', status: 400, detail: expect.stringMatching(/^stage:/) });
    await expect(send('POST', '/v1/tasks', { ...body, risk: 7 })).rejects.toMatchObject({ code: 'ADMIN_BAD_REQUEST', detail: expect.stringMatching(/^risk:/) });
    await expect(send('POST', '/v1/tasks')).rejects.toMatchObject({ code: 'ADMIN_BAD_REQUEST', detail: expect.stringMatching(/^agent:/) });
    await expect(send('GET', '/v1/tasks')).rejects.toMatchObject({ code: 'ADMIN_BAD_REQUEST' });
    const { task_id } = (await send('POST', '/v1/tasks', body))!.body as { task_id: string };
    await expect(send('PATCH', `/v1/tasks/${task_id}`, { stage: 'done' })).rejects.toMatchObject({ code: 'TASK_TRANSITION_REFUSED', status: 409 });
  });

  it('leaves other paths alone', async () => {
    const send = await setup();
    expect(await send('GET', '/v1/approvals')).toBeUndefined();
    expect(await send('GET', '/v1/tasks/a/b')).toBeUndefined();
    expect(await send('GET', '/health')).toBeUndefined();
  });
});
