// Policy lifecycle through a running Warden: no policy (503, not ready), hot reload under a
// stream of requests with zero failures, a broken bundle refused while the old one serves,
// dry-run mode, and /ready, /metrics reflecting the live revision.

import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { computeRevision } from '../../scripts/opa.mjs';
import { EXAMPLE_BUNDLE, compilePolicy } from '../helpers/policy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startWarden, type WardenHandle } from '../helpers/warden.js';

const ALLOW_ALL = `package warden
import rego.v1
decision := {"decision": "allow", "reason": "v1", "headers": {"x-policy": "v1"}}
`;
const DENY_ALL = `package warden
import rego.v1
decision := {"decision": "deny", "reason": "v2"}
`;

let upstream: TestUpstream;
let allowBundle: string;
let denyBundle: string;
const handles: WardenHandle[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
  allowBundle = await compilePolicy(ALLOW_ALL);
  denyBundle = await compilePolicy(DENY_ALL);
  return () => upstream.close();
});
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

async function warden(opts: Parameters<typeof startWarden>[0]): Promise<WardenHandle> {
  const w = await startWarden({ upstreams: { api: { prefix: '/api', url: upstream.url } }, ...opts });
  handles.push(w);
  return w;
}

/** Replace the bundle file atomically, as a deploy would (write then rename). */
function swapBundle(w: WardenHandle, from: string): void {
  const tmp = join(w.dir, 'next.tar.gz');
  copyFileSync(from, tmp);
  renameSync(tmp, w.bundle);
}

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met in time');
}

describe('policy lifecycle', () => {
  it('answers 503 and is not ready without a policy, then serves once one appears', async () => {
    const w = await warden({ bundle: null });
    const t = await w.task();
    const res = await fetch(`${w.proxyUrl}/api/x`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toBe('POLICY_NOT_LOADED');
    expect((await fetch(`${w.adminUrl}/ready`)).status).toBe(503);
    expect(upstream.seen.filter((s) => s.url === '/x')).toHaveLength(0);
    copyFileSync(allowBundle, w.bundle);
    await waitFor(async () => (await fetch(`${w.adminUrl}/ready`)).status === 200);
    expect((await fetch(`${w.proxyUrl}/api/x`, { headers: { authorization: `Bearer ${t.token}` } })).status).toBe(200);
  });

  it('hot-reloads under a stream of requests with zero failed requests', async () => {
    const w = await warden({ bundle: allowBundle });
    const t = await w.task();
    const a2 = await compilePolicy(ALLOW_ALL.replace('"v1"', '"v1b"'));
    let stop = false;
    const statuses: number[] = [];
    const workers = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const res = await fetch(`${w.proxyUrl}/api/stream`, { headers: { authorization: `Bearer ${t.token}` } });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
    });
    const revisions = new Set<string>([w.sidecar!.revision()!]);
    for (let i = 0; i < 6; i++) {
      // Each swap: wait until the watcher took the new bundle, then until requests ran on it.
      const before = w.sidecar!.revision();
      swapBundle(w, i % 2 === 0 ? a2 : allowBundle);
      await waitFor(async () => w.sidecar!.revision() !== before);
      const sent = statuses.length;
      await waitFor(async () => statuses.length >= sent + 20);
      revisions.add(w.sidecar!.revision()!);
    }
    stop = true;
    await Promise.all(workers);
    expect(revisions.size).toBe(2);
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  it('refuses a broken bundle, keeps serving the last good one, and takes the next good one', async () => {
    const w = await warden({ bundle: allowBundle });
    const t = await w.task();
    const good = w.sidecar!.revision();
    writeFileSync(join(w.dir, 'broken'), 'this is not a gzip file');
    renameSync(join(w.dir, 'broken'), w.bundle);
    await waitFor(async () => (await w.log()).some((l) => l.event === 'bundle.failed'));
    expect(w.sidecar!.revision()).toBe(good);
    const res = await fetch(`${w.proxyUrl}/api/still`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(res.status).toBe(200);
    const failed = (await w.log()).find((l) => l.event === 'bundle.failed')!;
    expect(failed.error).toBe('POLICY_BUNDLE_INVALID');
    const metrics = await (await fetch(`${w.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/warden_bundle_loads_total\{code="POLICY_BUNDLE_INVALID",result="error"\} 1/);
    swapBundle(w, denyBundle);
    await waitFor(async () => (await fetch(`${w.proxyUrl}/api/x`, { headers: { authorization: `Bearer ${t.token}` } })).status === 403);
  });

  it('refuses a bundle built for another entrypoint', async () => {
    const w = await warden({ bundle: allowBundle });
    const other = await compilePolicy(ALLOW_ALL.replace('package warden', 'package other'), { entrypoint: 'other/decision' });
    const ok = await w.sidecar!.reloadPolicy();
    expect(ok).toBe(true);
    swapBundle(w, other);
    await waitFor(async () => (await w.log()).some((l) => l.event === 'bundle.failed' && l.error === 'POLICY_ENTRYPOINT_MISSING'));
    expect((await fetch(`${w.adminUrl}/ready`)).status).toBe(200);
  });

  it('dry-run evaluates and logs a deny but forwards the request', async () => {
    const w = await warden({ bundle: denyBundle, config: { policy: { mode: 'dry-run' } } });
    const t = await w.task();
    const res = await fetch(`${w.proxyUrl}/api/dry`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(res.status).toBe(200);
    expect(upstream.seen.some((s) => s.url === '/dry')).toBe(true);
    const line = (await w.decisions()).find((d) => d.decision_id === res.headers.get('warden-decision-id'))!;
    expect(line.outcome).toBe('dry_run');
    expect(line.result).toMatchObject({ decision: 'deny', reason: 'v2' });
  });

  it('reports the revision in /ready, /metrics and every decision line', async () => {
    const revision = await computeRevision([join(import.meta.dirname, '../../rego')]);
    const w = await warden({ bundle: EXAMPLE_BUNDLE });
    const ready = await (await fetch(`${w.adminUrl}/ready`)).json();
    expect(ready.revision).toBe(w.sidecar!.revision());
    expect(ready.revision).toBe(revision);
    const metrics = await (await fetch(`${w.adminUrl}/metrics`)).text();
    expect(metrics).toContain(`warden_bundle_info{revision="${ready.revision}"} 1`);
    const t = await w.task();
    const res = await fetch(`${w.proxyUrl}/api/x`, { headers: { authorization: `Bearer ${t.token}` } });
    const line = (await w.decisions()).find((d) => d.decision_id === res.headers.get('warden-decision-id'))!;
    expect(line.bundles).toEqual({ warden: { revision: ready.revision } });
    expect(metrics).toMatch(/warden_policy_eval_duration_seconds_count \d+/);
    const after = await fetch(`${w.adminUrl}/metrics`);
    expect(after.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = (await after.text()).split('\n');
    const counted = lines.filter((l) => l.startsWith('warden_requests_total{') && l.includes(`decision="${line.outcome}"`) && l.includes(`status="${res.status}"`));
    expect(counted).toHaveLength(1);
    expect(counted[0]).toMatch(/ 1$/);
    expect(lines.filter((l) => l.startsWith('process_cpu_seconds_total '))).toHaveLength(1);
  });
});
