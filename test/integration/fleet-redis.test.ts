// A fleet on a real redis-server: three sidecars and a control plane share tasks, revocations,
// call counters and approvals. Each is a full Warden on port 0 with `store.kind: redis`; only the
// control plane holds a task-signing key, and the sidecars verify with the key it publishes.
// (test/integration/fleet-processes.test.ts runs the same fleet as separate processes.)

import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_POLICY, fleetUpstreams } from '../helpers/fleet.js';
import { compilePolicy } from '../helpers/policy.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startWarden, type WardenHandle } from '../helpers/warden.js';
import { until } from '../helpers/wait.js';


let redis: TestRedis;
let upstream: TestUpstream;
let fleet: WardenHandle[];
let control: WardenHandle;
let bundle: string;
const MAX_STALENESS_MS = 500;
const STORE = (): Record<string, unknown> => ({ kind: 'redis', url: redis.url, prefix: 'fleet:', max_staleness: `${MAX_STALENESS_MS}ms` });

async function sidecar(extra: Record<string, unknown> = {}): Promise<WardenHandle> {
  return startWarden({
    bundle,
    upstreams: fleetUpstreams(upstream.url),
    config: { store: STORE(), ...extra },
    agents: [],
  });
}

const call = (w: WardenHandle, token: string, method = 'GET', path = '/gh/repos/a/b'): Promise<Response> =>
  fetch(w.proxyUrl + path, { method, headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  bundle = await compilePolicy(FLEET_POLICY);
  redis = await startRedis();
  upstream = await startUpstream();
  control = await startWarden({ role: 'control', bundle, config: { store: STORE() } });
  fleet = [await sidecar(), await sidecar(), await sidecar()];
});

afterAll(async () => {
  await Promise.all([...(fleet ?? []), ...(control ? [control] : [])].map((w) => w.close()));
  await upstream?.close();
  await redis?.close();
});

describe('fleet on Redis', () => {
  it('a task created through one sidecar works on every sidecar', async () => {
    const { token } = await control.task();
    for (const w of fleet) expect((await call(w, token)).status).toBe(200);
  });

  it('a revocation reaches every sidecar within 1 s', async () => {
    const { task_id, token } = await control.task();
    for (const w of fleet) expect((await call(w, token)).status).toBe(200);
    const revokedAt = Date.now();
    // Revoked through a sidecar's admin API (write_api on): the store carries it to all.
    expect((await fleet[1]!.admin('DELETE', `/v1/tasks/${task_id}`)).status).toBe(200);
    const delays = await Promise.all(fleet.map(async (w) => {
      for (;;) {
        const r = await call(w, token);
        if (r.status === 401) return Date.now() - revokedAt;
        expect(r.status).toBe(200);
        if (Date.now() - revokedAt > 5_000) throw new Error('revocation did not arrive');
      }
    }));
    expect(Math.max(...delays)).toBeLessThanOrEqual(1_000);
  });

  it('an agent registered through one sidecar is known to all; suspending it cuts its tasks everywhere', async () => {
    expect((await fleet[0]!.admin('POST', '/v1/agents', { id: 'fleet-bot', owner: 'sec-team', scopes: ['*'] })).status).toBe(201);
    expect((await fleet[2]!.admin('GET', '/v1/agents/fleet-bot')).body.owner).toBe('sec-team');
    const { token } = await control.task({ agent: 'fleet-bot' });
    for (const w of fleet) expect((await call(w, token)).status).toBe(200);
    expect((await fleet[1]!.admin('PATCH', '/v1/agents/fleet-bot', { status: 'suspended' })).status).toBe(200);
    for (const w of fleet) expect((await call(w, token)).status).toBe(401);
    expect((await control.admin('POST', '/v1/tasks', { agent: 'fleet-bot', user: { id: 'alice' }, stage: 'execute', risk: 'low', scopes: [], ttl: '10m' })).status).not.toBe(201);
  });

  it('a call cap counts across sidecars', async () => {
    const { task_id, token } = await control.task();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await call(fleet[i % 3]!, token)).status);
      // Counts are written fire-and-forget: wait until the shared count has this call.
      const forwarded = statuses.filter((s) => s === 200).length;
      await until(async () => (await fleet[(i + 1) % 3]!.admin('GET', `/v1/tasks/${task_id}`)).body.usage.calls === forwarded);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 403, 403, 403]);
  });

  it('one approval is spent once across twenty concurrent identical calls on three sidecars', async () => {
    const { token } = await control.task();
    const first = await call(fleet[0]!, token, 'DELETE', '/gh/repos/a/b/branches/x');
    expect(first.status).toBe(401);
    const { approval_id } = (await first.json()) as { approval_id: string };
    // The identical call on another sidecar joins the same pending approval.
    const again = await call(fleet[2]!, token, 'DELETE', '/gh/repos/a/b/branches/x');
    expect(((await again.json()) as { approval_id: string }).approval_id).toBe(approval_id);
    expect((await fleet[1]!.admin('POST', `/v1/approvals/${approval_id}/approve`, { approver: 'carol', reason: 'ok' })).status).toBe(200);
    const before = upstream.seen.filter((s) => s.method === 'DELETE').length;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(fleet[i % 3]!, token, 'DELETE', '/gh/repos/a/b/branches/x').then((r) => r.status)));
    expect(results.filter((s) => s === 200)).toHaveLength(1);
    expect(upstream.seen.filter((s) => s.method === 'DELETE').length - before).toBe(1);
  });

  it('a call held on one sidecar is released by an approval given on another', async () => {
    const holder = await sidecar({ step_up: { hold: '10s' } });
    try {
      const { token } = await control.task();
      const held = call(holder, token, 'DELETE', '/gh/repos/a/b/branches/held');
      let pending: { id: string }[] = [];
      for (let i = 0; i < 200 && pending.length === 0; i++) {
        pending = (await fleet[2]!.admin('GET', '/v1/approvals?status=pending')).body.approvals.filter((a: { path: string }) => a.path.endsWith('/held'));
        if (pending.length === 0) await new Promise((r) => setTimeout(r, 25));
      }
      expect(pending).toHaveLength(1);
      expect((await fleet[2]!.admin('POST', `/v1/approvals/${pending[0]!.id}/approve`, { approver: 'dave' })).status).toBe(200);
      expect((await held).status).toBe(200);
    } finally {
      await holder.close();
    }
  });

  it('a fleet sidecar holds no task-signing key: it creates no task; the JWKS serves assertion keys only', async () => {
    const r = await fleet[0]!.admin('POST', '/v1/tasks', { agent: 'agent-1', user: { id: 'alice' }, stage: 'execute', risk: 'low', scopes: [], ttl: '10m' });
    expect(r).toMatchObject({ status: 403, body: { error: 'TASK_SIGNER_ELSEWHERE' } });
    // The fleet's JWKS serves every sidecar's assertion key, never the control plane's task key.
    const jwks = (await (await fetch(`${control.adminUrl}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.length).toBeGreaterThanOrEqual(3);
    const { token } = await control.task();
    expect(jwks.keys.map((k) => k.kid)).not.toContain(decodeProtectedHeader(token).kid);
    expect((await call(fleet[0]!, token)).status).toBe(200);
  });

  it('admin.write_api: false keeps health, ready, metrics and reads, and refuses every write', async () => {
    const ro = await sidecar({ admin: { listen: '127.0.0.1:0', token: '${env:WARDEN_TEST_ADMIN_TOKEN}', write_api: false } });
    try {
      for (const p of ['/health', '/ready', '/metrics']) expect((await fetch(ro.adminUrl + p)).status).toBe(200);
      const { task_id, token } = await control.task();
      expect((await ro.admin('GET', `/v1/tasks/${task_id}`)).status).toBe(200);
      expect((await ro.admin('GET', '/v1/approvals?status=pending')).status).toBe(200);
      expect((await ro.admin('POST', '/v1/check', { method: 'GET', path: '/gh/repos/a/b', task_id })).status).not.toBe(403);
      for (const [method, path, body] of [
        ['DELETE', `/v1/tasks/${task_id}`], ['PATCH', `/v1/tasks/${task_id}`, { stage: 'review' }],
        ['POST', '/v1/tasks', { agent: 'agent-1', user: { id: 'a' }, stage: 'execute', risk: 'low', scopes: [], ttl: '1m' }],
        ['POST', '/v1/agents', { id: 'x', owner: 'y', scopes: [] }], ['POST', '/v1/approvals/nope/approve', { approver: 'z' }],
        ['POST', '/v1/tools/gh/t/pin'],
      ] as [string, string, unknown?][]) {
        expect(await ro.admin(method, path, body)).toMatchObject({ status: 403, body: { error: 'ADMIN_READ_ONLY' } });
      }
      expect((await fetch(`${ro.adminUrl}/console/`)).status).toBe(403);
      // The proxy works as on any sidecar, and the task was not revoked by the refused DELETE.
      expect((await call(ro, token)).status).toBe(200);
    } finally {
      await ro.close();
    }
  });

  it('Redis down: what cannot be confirmed is refused 503 and nothing is forwarded; it recovers by itself', async () => {
    const { token } = await control.task();
    expect((await call(fleet[0]!, token)).status).toBe(200);
    const before = upstream.seen.length;
    await redis.kill();
    // Past max_staleness no sidecar answers from its cache any more. The window passing in real
    // time is the behaviour under test (the link's clock is not injectable), so this sleep stays.
    await new Promise((r) => setTimeout(r, MAX_STALENESS_MS + 400));
    for (const w of fleet) {
      const r = await call(w, token);
      expect(r.status).toBe(503);
      expect(((await r.json()) as { error: string }).error).toBe('STORE_UNAVAILABLE');
    }
    expect(upstream.seen.length).toBe(before);
    await redis.restart();
    // The revocation state survived the restart (AOF); every sidecar recovers on its own.
    for (const w of fleet) {
      let status = 0;
      for (let i = 0; i < 200 && status !== 200; i++) {
        status = (await call(w, token)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(200);
    }
  });
});
