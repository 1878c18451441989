// A fleet on a real redis-server, in process: three sidecars and a control plane, each a full
// Warden on port 0 with `store.kind: redis`. Only the control plane holds a task-signing key; the
// sidecars verify with the key it publishes. Here: the shared agent registry, the sidecars'
// missing signing key and the read-only admin API. Tokens, revocations, call caps, approvals,
// held calls, Redis outages and restarts across processes: test/integration/fleet-processes.test.ts.

import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_POLICY, fleetUpstreams } from '../helpers/fleet.js';
import { compilePolicy } from '../helpers/policy.js';
import { bearerOf, LANE_SCOPES, oauthLane, startTestAuthServer } from '../helpers/auth-server.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startWarden, type WardenHandle } from '../helpers/warden.js';


let redis: TestRedis;
let upstream: TestUpstream;
let fleet: WardenHandle[];
let control: WardenHandle;
let bundle: string;
const STORE = (): Record<string, unknown> => ({ kind: 'redis', url: redis.url, prefix: 'fleet:', max_staleness: '500ms' });

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
  it('an agent registered through one sidecar is known to all; suspending it cuts its tasks everywhere', async () => {
    expect((await fleet[0]!.admin('POST', '/v1/agents', { id: 'fleet-bot', owner: 'sec-team', scopes: ['*'] })).status).toBe(201);
    expect((await fleet[2]!.admin('GET', '/v1/agents/fleet-bot')).body.owner).toBe('sec-team');
    const { token } = await control.task({ agent: 'fleet-bot' });
    for (const w of fleet) expect((await call(w, token)).status).toBe(200);
    expect((await fleet[1]!.admin('PATCH', '/v1/agents/fleet-bot', { status: 'suspended' })).status).toBe(200);
    for (const w of fleet) expect((await call(w, token)).status).toBe(401);
    expect((await control.admin('POST', '/v1/tasks', { agent: 'fleet-bot', user: { id: 'alice' }, stage: 'execute', risk: 'low', scopes: [], ttl: '10m' })).status).not.toBe(201);
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

  it('token exchange on a fleet sidecar: its own assertion key, trusted through the control plane\'s JWKS', async () => {
    const as = await startTestAuthServer();
    const tx = await startWarden({
      bundle, agents: [],
      upstreams: { gh: { prefix: '/gh', url: upstream.url, lanes: { read: oauthLane(as, 'token_exchange', LANE_SCOPES.join(' ')) } } },
      config: { store: STORE() },
    });
    try {
      as.trust('warden', `${control.adminUrl}/.well-known/jwks.json`);
      const { token } = await control.task();
      expect((await call(tx, token)).status).toBe(200);
      expect(await as.introspect(bearerOf(upstream.seen.at(-1)!.headers))).toMatchObject({ active: true, sub: 'alice', act: { sub: 'agent-1' } });
    } finally {
      await tx.close();
      await as.close();
    }
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

});
