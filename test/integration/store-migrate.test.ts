// `warden store migrate --from sqlite --to redis`: the state of a single Warden (SQLite) carried
// into a fleet's real redis-server. After the migration a sidecar on Redis honours it: a task token
// still works, a revoked task stays revoked, an approval stays decided (and is spent once), call
// counts carry over. A second run copies nothing twice; a bad source or target is refused.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_TIMEOUT, warden } from '../helpers/cli.js';
import { FLEET_POLICY, fleetUpstreams } from '../helpers/fleet.js';
import { compilePolicy } from '../helpers/policy.js';
import { useRedisServer } from '../helpers/redis-server.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startWarden, writeConfig, type WardenHandle } from '../helpers/warden.js';


const redis = useRedisServer();
let upstream: TestUpstream;
let bundle: string;
let single: WardenHandle;
const handles: WardenHandle[] = [];
const state: { live?: { task_id: string; token: string }; revoked?: { task_id: string; token: string }; approved?: string; denied?: string } = {};

const upstreams = (): Record<string, Record<string, unknown>> => fleetUpstreams(upstream.url);
const fleetStore = (): Record<string, unknown> => ({ kind: 'redis', url: redis.server().url, prefix: 'migrated:', max_staleness: '1s' });
const call = (w: WardenHandle, token: string, method = 'GET', path = '/gh/repos/a/b'): Promise<Response> =>
  fetch(w.proxyUrl + path, { method, headers: { authorization: `Bearer ${token}` } });
const migrate = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => warden(['store', 'migrate', ...args]);

beforeAll(async () => {
  bundle = await compilePolicy(FLEET_POLICY);
  upstream = await startUpstream();
  // The single Warden's life before the fleet: tasks, calls, a revocation, two decided approvals.
  single = await startWarden({ bundle, upstreams: upstreams() });
  state.live = await single.task();
  state.revoked = await single.task();
  for (let i = 0; i < 3; i++) expect((await call(single, state.live.token)).status).toBe(200);
  expect((await single.admin('DELETE', `/v1/tasks/${state.revoked.task_id}`)).status).toBe(200);
  const ask = async (path: string): Promise<string> => ((await (await call(single, state.live!.token, 'DELETE', path)).json()) as { approval_id: string }).approval_id;
  state.approved = await ask('/gh/repos/a/b/branches/approved');
  state.denied = await ask('/gh/repos/a/b/branches/denied');
  expect((await single.admin('POST', `/v1/approvals/${state.approved}/approve`, { approver: 'carol' })).status).toBe(200);
  expect((await single.admin('POST', `/v1/approvals/${state.denied}/deny`, { approver: 'carol', reason: 'no' })).status).toBe(200);
  await single.close();
}, CLI_TIMEOUT);

afterAll(async () => {
  await Promise.all(handles.map((h) => h.close()));
  await upstream?.close();
});

describe('warden store migrate --from sqlite --to redis', () => {
  it('refuses a bad source or target with STORE_MIGRATION_REFUSED, and copies nothing then', async () => {
    const fleet = writeConfig({ bundle, config: { store: fleetStore() } }).configFile;
    const sqliteConfig = writeConfig({ bundle }).configFile;
    const stateDir = join(single.dir, 'state');
    const refusals = await Promise.all([
      migrate(['--from', 'redis', '--to', 'sqlite', '--config', fleet, '--state-dir', stateDir]),
      migrate(['--from', 'sqlite', '--to', 'redis', '--config', sqliteConfig, '--state-dir', stateDir]),
      migrate(['--from', 'sqlite', '--to', 'redis', '--config', fleet, '--state-dir', join(single.dir, 'nowhere')]),
    ]);
    for (const r of refusals) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^warden: STORE_MIGRATION_REFUSED: /);
    }
    expect(refusals[2]!.stderr).toContain('holds no warden.db');
  }, CLI_TIMEOUT);

  it('copies the state; a sidecar on Redis honours tokens, revocations, approvals and counts; a second run copies nothing', async () => {
    const { configFile } = writeConfig({ bundle, config: { store: fleetStore() } });
    const args = ['--from', 'sqlite', '--to', 'redis', '--config', configFile, '--state-dir', join(single.dir, 'state')];
    const first = await migrate(args);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/agents\s+2 copied,\s+0 already present/);
    expect(first.stdout).toMatch(/tasks\s+2 copied,\s+0 already present \(1 revocations, 3 counted calls\)/);
    expect(first.stdout).toMatch(/approvals\s+2 copied/);
    expect(first.stdout).toMatch(/task keys\s+1 copied/);

    const sidecar = await startWarden({ bundle, upstreams: upstreams(), agents: [], config: { store: fleetStore() } });
    handles.push(sidecar);
    // The token signed by the single Warden verifies on the fleet (its key was published).
    expect((await call(sidecar, state.live!.token)).status).toBe(200);
    expect((await sidecar.admin('GET', `/v1/tasks/${state.live!.task_id}`)).body.usage.calls).toBe(4);
    expect((await call(sidecar, state.revoked!.token)).status).toBe(401);
    expect((await sidecar.admin('GET', `/v1/approvals/${state.approved}`)).body).toMatchObject({ status: 'approved', approver: 'carol' });
    expect((await sidecar.admin('GET', `/v1/approvals/${state.denied}`)).body).toMatchObject({ status: 'denied' });
    // The approval given before the migration is spent once, on the fleet.
    const statuses = await Promise.all([0, 1, 2].map(() => call(sidecar, state.live!.token, 'DELETE', '/gh/repos/a/b/branches/approved').then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    // The denial stays: the identical call is refused without a new approval.
    const denied = await call(sidecar, state.live!.token, 'DELETE', '/gh/repos/a/b/branches/denied');
    expect(denied.status).toBe(403);

    // The fleet revokes the live task; a second migration neither copies anything twice nor undoes it.
    expect((await sidecar.admin('DELETE', `/v1/tasks/${state.live!.task_id}`)).status).toBe(200);
    const again = await migrate(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/tasks\s+0 copied,\s+2 already present \(0 revocations/);
    expect(again.stdout).toMatch(/approvals\s+0 copied,\s+2 already present/);
    expect(again.stdout).toMatch(/task keys\s+0 copied,\s+1 already present/);
    expect((await call(sidecar, state.live!.token)).status).toBe(401);
  }, CLI_TIMEOUT);
});
