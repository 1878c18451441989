// The fleet as it runs: a real redis-server, `warden control` and three `warden run` sidecars, each
// its own process started through the command line on port 0. Tasks are created and revoked on
// the control plane only (the sidecars hold no task-signing key and run with admin.write_api off).
// What crosses processes is checked here: tokens, revocations within 1 s, a shared call cap, one
// approval spent once, a held call woken by a decision elsewhere, a Redis outage under load (503,
// nothing forwarded that was not confirmed, recovery), and a sidecar restarted under load.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_TIMEOUT } from '../helpers/cli.js';
import { FLEET_POLICY, fleetUpstreams } from '../helpers/fleet.js';
import { compilePolicy } from '../helpers/policy.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { killWarden, startWarden, tempDir, type WardenHandle } from '../helpers/warden.js';
import { until } from '../helpers/wait.js';

const MAX_STALENESS_MS = 500;
/** Sidecar A holds a step-up call this long for a decision. */
const HOLD = '4s';

let redis: TestRedis;
let upstream: TestUpstream;
let bundle: string;
let control: WardenHandle;
let fleet: WardenHandle[];
const dirs = [tempDir('warden-fleet-a-'), tempDir('warden-fleet-b-'), tempDir('warden-fleet-c-')];

const STORE = (): Record<string, unknown> => ({ kind: 'redis', url: redis.url, prefix: 'procs:', max_staleness: `${MAX_STALENESS_MS}ms` });

function sidecar(i: number): Promise<WardenHandle> {
  return startWarden({
    child: true, bundle, dir: dirs[i]!, agents: [],
    upstreams: fleetUpstreams(upstream.url),
    config: {
      store: STORE(),
      admin: { listen: '127.0.0.1:0', token: '${env:WARDEN_TEST_ADMIN_TOKEN}', write_api: false },
      ...(i === 0 && { step_up: { hold: HOLD } }),
    },
  });
}

const call = (w: WardenHandle, token: string, method = 'GET', path = '/gh/repos/a/b'): Promise<Response> =>
  fetch(w.proxyUrl + path, { method, headers: { authorization: `Bearer ${token}` } });
const forwarded = (method: string, path: string): number => upstream.seen.filter((s) => s.method === method && s.url === path).length;

beforeAll(async () => {
  bundle = await compilePolicy(FLEET_POLICY);
  [redis, upstream] = await Promise.all([startRedis(), startUpstream()]);
  control = await startWarden({ child: true, role: 'control', bundle, config: { store: STORE() } });
  fleet = await Promise.all([0, 1, 2].map(sidecar));
}, CLI_TIMEOUT);

afterAll(async () => {
  await Promise.all([...(fleet ?? []), ...(control ? [control] : [])].map((w) => w.close()));
  await upstream?.close();
  await redis?.close();
});

describe('a fleet of processes: warden control and three warden run on one redis-server', () => {
  it('a task created on the control plane works on every sidecar; revoked there, it is refused on all within 1 s', async () => {
    expect(control.proxyUrl).toBe('');
    const { task_id, token } = await control.task();
    for (const w of fleet) expect((await call(w, token)).status).toBe(200);
    const revokedAt = Date.now();
    expect((await control.admin('DELETE', `/v1/tasks/${task_id}`)).status).toBe(200);
    const delays = await Promise.all(fleet.map(async (w) => {
      for (;;) {
        const r = await call(w, token);
        if (r.status === 401) return Date.now() - revokedAt;
        expect(r.status).toBe(200);
        if (Date.now() - revokedAt > 5_000) throw new Error('the revocation did not arrive');
      }
    }));
    expect(Math.max(...delays)).toBeLessThanOrEqual(1_000);
  });

  it('a call cap counts across sidecars', async () => {
    const { task_id, token } = await control.task();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await call(fleet[i % 3]!, token, 'GET', '/gh/capped')).status);
      // Counts are written fire-and-forget: wait until the shared count has this call.
      const allowed = statuses.filter((s) => s === 200).length;
      await until(async () => (await control.admin('GET', `/v1/tasks/${task_id}`)).body.usage.calls === allowed);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 403, 403, 403]);
  });

  it('one approval is spent once across twenty concurrent identical calls on three sidecars', async () => {
    const { token } = await control.task();
    const path = '/gh/repos/a/b/branches/twenty';
    const first = await call(fleet[1]!, token, 'DELETE', path);
    expect(first.status).toBe(401);
    const { approval_id } = (await first.json()) as { approval_id: string };
    expect((await control.admin('POST', `/v1/approvals/${approval_id}/approve`, { approver: 'carol' })).status).toBe(200);
    // Sidecar A holds a call that finds the approval spent until HOLD runs out: B and C only race here.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(fleet[1 + (i % 2)]!, token, 'DELETE', path).then((r) => r.status)));
    expect(results.filter((s) => s === 200)).toHaveLength(1);
    expect(forwarded('DELETE', '/repos/a/b/branches/twenty')).toBe(1);
  });

  it('a call held on sidecar A is released by an approval given on the control plane', async () => {
    const { token } = await control.task();
    const held = call(fleet[0]!, token, 'DELETE', '/gh/repos/a/b/branches/held');
    let pending: { id: string }[] = [];
    await until(async () => {
      pending = (await control.admin('GET', '/v1/approvals?status=pending')).body.approvals.filter((a: { path: string }) => a.path.endsWith('/held'));
      return pending.length > 0;
    });
    expect((await control.admin('POST', `/v1/approvals/${pending[0]!.id}/approve`, { approver: 'dave' })).status).toBe(200);
    expect((await held).status).toBe(200);
    expect(forwarded('DELETE', '/repos/a/b/branches/held')).toBe(1);
  });

  it('Redis killed under load: 503 STORE_UNAVAILABLE, nothing forwarded unconfirmed, recovery after restart; a sidecar restarted under load rejoins', async () => {
    const { task_id, token } = await control.task();
    const answers: { at: number; status: number; error?: string; sidecar: number }[] = [];
    let loading = true;
    const load = Promise.all([0, 1, 2].flatMap((i) => [0, 1].map(async () => {
      while (loading) {
        const w = fleet[i]!;
        try {
          const r = await call(w, token, 'GET', `/gh/load/${i}`);
          const body = r.status === 200 ? undefined : ((await r.json()) as { error?: string });
          answers.push({ at: Date.now(), status: r.status, sidecar: i, ...(body?.error && { error: body.error }) });
          if (r.status === 200) await r.arrayBuffer().catch(() => undefined);
        } catch {
          answers.push({ at: Date.now(), status: 0, sidecar: i }); // a sidecar being restarted
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })));
    const loadForwards = (): number => upstream.seen.filter((s) => s.url.startsWith('/load/')).length;
    await until(() => answers.filter((a) => a.status === 200).length >= 30);

    await redis.kill();
    const killedAt = Date.now();
    // Past max_staleness (and a margin for calls already past their check) nothing more goes out.
    await new Promise((r) => setTimeout(r, MAX_STALENESS_MS + 300));
    const confirmedUntil = Date.now();
    const forwardsBefore = loadForwards();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(loadForwards()).toBe(forwardsBefore);
    const outage = answers.filter((a) => a.at > confirmedUntil);
    expect(outage.length).toBeGreaterThan(10);
    expect(outage.every((a) => a.status === 503 && a.error === 'STORE_UNAVAILABLE')).toBe(true);
    expect(killedAt).toBeLessThan(confirmedUntil);

    await redis.restart();
    const restartedAt = Date.now();
    for (const i of [0, 1, 2]) await until(() => answers.some((a) => a.sidecar === i && a.at > restartedAt && a.status === 200));

    // Sidecar B killed and started again on its state dir under the same load: it rejoins.
    await killWarden(fleet[1]!);
    fleet[1] = await sidecar(1);
    const rejoinedAt = Date.now();
    await until(() => answers.some((a) => a.sidecar === 1 && a.at > rejoinedAt && a.status === 200));
    // It hears the control plane's revocation like the others.
    expect((await control.admin('DELETE', `/v1/tasks/${task_id}`)).status).toBe(200);
    const revokedAt = Date.now();
    for (const i of [0, 1, 2]) await until(() => answers.some((a) => a.sidecar === i && a.at > revokedAt + 1_000 && a.status === 401));
    loading = false;
    await load;
    // After the revocation settled, nothing was let through anywhere.
    expect(answers.filter((a) => a.at > revokedAt + 1_000 && a.status === 200)).toEqual([]);
  });
});
