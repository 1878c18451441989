// Durable state: Warden runs as a child process (`warden run`), is killed with SIGKILL (no
// shutdown hook runs) and started again on the same state directory. A revoked task stays
// revoked, a live one keeps working with the token handed out before the crash.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';
import { killWarden, startWarden, tempDir, type WardenHandle } from '../helpers/warden.js';

process.env.TEST_RESTART_READ = 'restart-read-secret';

/** The call count of a task as written in the state directory's database (read-only, as another process). */
function persistedCalls(dir: string, taskId: string): number | undefined {
  const db = new Database(join(dir, 'state', 'warden.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT calls FROM tasks WHERE id = ?').get(taskId) as { calls: number } | undefined)?.calls;
  } finally {
    db.close();
  }
}

let github: TestUpstream;
const handles: WardenHandle[] = [];

beforeAll(async () => {
  github = await startUpstream();
});
afterAll(async () => {
  for (const h of handles) await h.close();
  await github?.close();
});

describe('restart', () => {
  it('a revoked task stays refused and a live one still works after kill -9', async () => {
    const dir = tempDir('warden-restart-');
    const opts = {
      child: true,
      dir,
      upstreams: { github: { prefix: '/github', url: github.url, lanes: bearerLanes({ read: 'TEST_RESTART_READ' }) } },
    };
    const get = async (w: WardenHandle, token: string) => {
      const res = await fetch(`${w.proxyUrl}/github/repos/acme/app`, { headers: { authorization: `Bearer ${token}` } });
      const text = await res.text();
      return { status: res.status, headers: res.headers, json: () => JSON.parse(text), text };
    };

    const first = await startWarden(opts);
    handles.push(first);
    let stderr = '';
    first.child!.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const live = await first.task({ stage: 'plan' });
    const gone = await first.task({ stage: 'plan' });
    const r0 = await get(first, live.token);
    expect(r0.status, `${r0.text}\n${stderr}`).toBe(200);
    expect((await get(first, gone.token)).status).toBe(200);
    expect((await first.admin('DELETE', `/v1/tasks/${gone.task_id}`)).status).toBe(200);
    expect((await get(first, gone.token)).status).toBe(401);
    // A stage move and a usage count made before the crash survive it too. Call counts are
    // written in batches (src/store/sqlite/task-store.ts): wait until this one is in the file.
    await until(() => persistedCalls(dir, live.task_id) === 1);
    expect((await first.admin('PATCH', `/v1/tasks/${live.task_id}`, { stage: 'execute' })).status).toBe(200);

    // Kill right after the admin API answered: nothing gets a chance to flush.
    expect(await killWarden(first)).toBe('SIGKILL');
    // Gone already: WardenHandle.close() would wait for an exit that has happened (exitCode stays null after a signal).
    handles.splice(handles.indexOf(first), 1);
    await expect(fetch(`${first.proxyUrl}/github/repos/acme/app`)).rejects.toThrow();

    const second = await startWarden(opts);
    handles.push(second);
    const before = github.seen.length;
    const revoked = await get(second, gone.token);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect(revoked.json().error).toBe('TOKEN_REVOKED');
    expect(github.seen.length).toBe(before);

    const ok = await get(second, live.token);
    expect(ok.status).toBe(200);
    expect(github.seen.at(-1)!.headers['x-warden-stage']).toBe('execute');
    expect(github.seen.at(-1)!.headers.authorization).toBe('Bearer restart-read-secret');

    const view = await second.admin('GET', `/v1/tasks/${live.task_id}`);
    expect(view.body).toMatchObject({ status: 'active', stage: 'execute', usage: { calls: 2 } });
    expect((await second.admin('GET', `/v1/tasks/${gone.task_id}`)).body.status).toBe('revoked');
  });
});
