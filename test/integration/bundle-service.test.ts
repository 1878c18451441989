// OPA bundle distribution against a real bundle server on port 0: ETag polling picks a new
// revision up, 304s cost no reload, signed bundles are verified (signatures made by the pinned
// `opa build --signing-key`), a tampered or unsigned one is refused while the old one serves, and
// the persisted bundle serves after a restart while the server is down.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBundleServer, RESOURCE, type TestBundleServer } from '../helpers/bundle-server.js';
import { compilePolicy } from '../helpers/policy.js';
import { SIMPLE_POLICY, editJson, makeKey, repack, signedPolicy, type TestKey } from '../helpers/signed-bundle.js';
import { startWarden, tempDir, type WardenHandle } from '../helpers/warden.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

process.env.WARDEN_TEST_BUNDLE_TOKEN = 'bundle-token-123';

async function server(initial?: string): Promise<TestBundleServer> {
  const s = await startBundleServer(initial);
  cleanups.push(() => s.close().catch(() => undefined));
  return s;
}

interface Opts {
  dir?: string;
  key?: TestKey;
}

async function warden(s: TestBundleServer, opts: Opts = {}): Promise<WardenHandle> {
  const policy: Record<string, unknown> = {
    service: { url: s.url, resource: RESOURCE, credentials: { bearer: '${env:WARDEN_TEST_BUNDLE_TOKEN}' }, polling: { min_delay: '50ms', max_delay: '200ms' }, timeout: '2s' },
  };
  if (opts.key) policy.verification = { key_id: 'k1', keys: { k1: { algorithm: opts.key.algorithm, key: `\${file:${opts.key.verificationFile}}` } } };
  const w = await startWarden({ bundle: null, ...(opts.dir && { dir: opts.dir }), config: { policy } });
  cleanups.push(() => w.close());
  return w;
}

const ready = async (w: WardenHandle): Promise<{ status: number; body: any }> => {
  const res = await fetch(`${w.adminUrl}/ready`);
  return { status: res.status, body: await res.json() };
};

/** The `reason` the live policy gives: its data, so which bundle serves. */
const liveReason = async (w: WardenHandle): Promise<unknown> => (await w.admin('POST', '/v1/check', { request: { method: 'GET', path: '/' } })).body?.result?.reason;

const metrics = async (w: WardenHandle): Promise<string> => (await fetch(`${w.adminUrl}/metrics`)).text();

async function until(what: string, pred: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const policy = (revision: string): Promise<string> => compilePolicy(SIMPLE_POLICY, { data: { reason: revision }, revision });

describe('bundle service (OPA bundle protocol)', () => {
  let r1: string;
  let r2: string;
  beforeAll(async () => {
    [r1, r2] = await Promise.all([policy('r1'), policy('r2')]);
  });

  it('loads from the server at start and picks a new revision up on a later poll', async () => {
    const s = await server(r1);
    const w = await warden(s);
    expect(await ready(w)).toMatchObject({ status: 200, body: { revision: 'r1', bundle_service: { revision: 'r1' } } });
    expect(s.requests[0]).toMatchObject({ url: `/${RESOURCE}`, authorization: 'Bearer bundle-token-123', ifNoneMatch: undefined });
    s.serve(r2);
    await until('revision r2', async () => (await ready(w)).body.revision === 'r2');
    expect(await liveReason(w)).toBe('r2');
    const m = await metrics(w);
    expect(m).toContain('warden_bundle_info{revision="r2"} 1');
    expect(m).toMatch(/warden_bundle_fetch_success_timestamp_seconds \d+/);
    expect((await ready(w)).body.bundle_service.last_successful_activation).toEqual(expect.any(String));
  });

  it('answers 304 polls without reloading', async () => {
    const s = await server(r1);
    const w = await warden(s);
    await s.waitFor((reqs) => reqs.filter((r) => r.status === 304).length >= 5);
    expect(s.requests.slice(1).every((r) => r.ifNoneMatch === s.requests.find((x) => x.status === 304)?.ifNoneMatch)).toBe(true);
    const m = await metrics(w);
    expect(m).toContain('warden_bundle_loads_total{result="ok"} 1');
    expect(m).toMatch(/warden_bundle_fetches_total\{result="not_modified"\} ([5-9]|\d\d+)/);
    expect((await w.log()).filter((l) => l.event === 'bundle.loaded')).toHaveLength(1);
  });

  it('keeps serving the last good bundle through server errors, and reports them', async () => {
    const s = await server(r1);
    const w = await warden(s);
    s.token = 'another-token';
    await until('a failed fetch', async () => (await ready(w)).body.bundle_service.last_error === 'POLICY_BUNDLE_FETCH_FAILED');
    expect(await ready(w)).toMatchObject({ status: 200, body: { revision: 'r1', bundle_service: { last_failed_request: expect.any(String) } } });
    expect(await liveReason(w)).toBe('r1');
    expect(await metrics(w)).toMatch(/warden_bundle_fetch_failure_timestamp_seconds \d+/);
  });

  it('serves the persisted bundle after a restart while the server is down, then follows the server again', async () => {
    const s = await server(r1);
    const dir = tempDir();
    const first = await warden(s, { dir });
    expect((await ready(first)).body.revision).toBe('r1');
    await first.close();
    await s.stop();

    const second = await warden(s, { dir });
    expect(await ready(second)).toMatchObject({ status: 200, body: { revision: 'r1', bundle_service: { last_error: 'POLICY_BUNDLE_FETCH_FAILED' } } });
    expect(await liveReason(second)).toBe('r1');

    s.serve(r2);
    await s.start();
    await until('revision r2', async () => (await ready(second)).body.revision === 'r2');
  });

  it('is not ready while the server is down and nothing is persisted, and becomes ready once it answers', async () => {
    const s = await server(r1);
    await s.stop();
    const w = await warden(s);
    expect(await ready(w)).toMatchObject({ status: 503, body: { reason: 'no policy loaded' } });
    await s.start();
    await until('ready', async () => (await ready(w)).status === 200);
  });
});

describe('signed bundles from the service', () => {
  let key: TestKey;
  let signed1: string;
  let signed2: string;
  beforeAll(async () => {
    key = makeKey('RS256');
    [signed1, signed2] = await Promise.all([signedPolicy(key, { data: { reason: 'r1' }, revision: 'r1' }), signedPolicy(key, { data: { reason: 'r2' }, revision: 'r2' })]);
  });

  it('refuses a bundle changed after signing while the old one serves, then takes a good one', async () => {
    const s = await server(signed1);
    const w = await warden(s, { key });
    expect((await ready(w)).body.revision).toBe('r1');
    s.serve(repack(signed2, (dir) => editJson(dir, 'data.json', (d) => ({ ...d, reason: 'tampered' }))));
    await until('the tampered bundle refused', async () => (await ready(w)).body.bundle_service.last_error === 'POLICY_BUNDLE_UNVERIFIED');
    expect(await ready(w)).toMatchObject({ status: 200, body: { revision: 'r1' } });
    expect(await liveReason(w)).toBe('r1');
    const failed = (await w.log()).filter((l) => l.event === 'bundle.failed');
    expect(failed[0]).toMatchObject({ error: 'POLICY_BUNDLE_UNVERIFIED', revision: 'r1' });
    expect(failed[0]!.detail).toMatch(/data\.json: digest mismatch/);

    s.serve(signed2);
    await until('revision r2', async () => (await ready(w)).body.revision === 'r2');
    expect(await liveReason(w)).toBe('r2');
  });

  it('refuses an unsigned bundle and one signed with another key', async () => {
    const s = await server(signed1);
    const w = await warden(s, { key });
    for (const bad of [await compilePolicy(SIMPLE_POLICY, { data: { reason: 'unsigned' }, revision: 'evil' }), await signedPolicy(makeKey('RS256'), { data: { reason: 'other key' }, revision: 'evil' })]) {
      const before = s.requests.length;
      s.serve(bad);
      await s.waitFor((reqs) => reqs.slice(before).filter((r) => r.status === 200).length >= 2);
      expect(await ready(w)).toMatchObject({ status: 200, body: { revision: 'r1', bundle_service: { last_error: 'POLICY_BUNDLE_UNVERIFIED' } } });
      expect(await liveReason(w)).toBe('r1');
    }
  });

  it('does not persist a refused bundle: a restart during an outage serves the last verified one', async () => {
    const s = await server(signed1);
    const dir = tempDir();
    const first = await warden(s, { dir, key });
    s.serve(repack(signed2, (d) => editJson(d, 'data.json', (x) => ({ ...x, reason: 'tampered' }))));
    await until('refusal', async () => (await ready(first)).body.bundle_service.last_error === 'POLICY_BUNDLE_UNVERIFIED');
    await first.close();
    await s.stop();
    const second = await warden(s, { dir, key });
    expect(await ready(second)).toMatchObject({ status: 200, body: { revision: 'r1' } });
    expect(await liveReason(second)).toBe('r1');
  });
});
