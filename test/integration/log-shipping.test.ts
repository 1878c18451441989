// Decision-log shipping through a running Warden to a real collector on port 0: every decision
// reaches the collector exactly once across a burst and an outage, the local log keeps every line,
// a forced overflow is counted exactly, and what is buffered ships on shutdown.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type TestCollector } from '../helpers/collector.js';
import { compilePolicy } from '../helpers/policy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startWarden, type WardenHandle } from '../helpers/warden.js';
import { until, untilWithin } from '../helpers/wait.js';

const ALLOW = `package warden
import rego.v1
decision := {"decision": "allow", "headers": {}}
`;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let bundle: string;
let upstream: TestUpstream;
beforeAll(async () => {
  bundle = await compilePolicy(ALLOW);
  upstream = await startUpstream();
  return () => upstream.close();
});

process.env.WARDEN_TEST_LOG_TOKEN = 'log-token-456';

async function setup(service: Record<string, unknown> = {}): Promise<{ w: WardenHandle; c: TestCollector; token: string }> {
  const c = await startCollector();
  cleanups.push(() => c.close().catch(() => undefined));
  const w = await startWarden({
    bundle,
    upstreams: { api: { prefix: '/api', url: upstream.url } },
    config: { decision_log: { service: { url: c.url, credentials: { bearer: '${env:WARDEN_TEST_LOG_TOKEN}' }, min_delay: '20ms', max_delay: '100ms', ...service } } },
  });
  cleanups.push(() => w.close());
  return { w, c, token: (await w.task()).token };
}

async function burst(w: WardenHandle, token: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 25) {
    const answers = await Promise.all(Array.from({ length: Math.min(25, n - i) }, () => fetch(`${w.proxyUrl}/api/x`, { headers: { authorization: `Bearer ${token}` } })));
    for (const r of answers) {
      await r.arrayBuffer();
      ids.push(r.headers.get('warden-decision-id')!);
    }
  }
  return ids;
}

const metric = async (w: WardenHandle, name: string): Promise<number> => {
  const text = await (await fetch(`${w.adminUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
};

/** Every buffered line acknowledged by the collector: nothing left that could be sent again. */
const acknowledged = (w: WardenHandle): Promise<void> => until(async () => (await metric(w, 'warden_decision_log_buffer_bytes')) === 0);

const decisionIds = (c: TestCollector): string[] => c.events.filter((e) => e.type === 'decision').map((e) => e.decision_id as string);

describe('decision-log shipping (OPA decision-log protocol)', () => {
  it('delivers every decision exactly once across a burst and a collector outage', async () => {
    const { w, c, token } = await setup();
    const first = await burst(w, token, 150);
    await c.stop();
    const during = await burst(w, token, 150);
    c.failWith = 503;
    await c.start();
    const refused = await burst(w, token, 50);
    await untilWithin(() => c.refused > 0, 15_000, () => 'no upload reached the refusing collector');
    c.failWith = undefined;
    const after = await burst(w, token, 50);
    const all = [...first, ...during, ...refused, ...after];
    await c.waitFor(all.length);
    await acknowledged(w);
    expect(decisionIds(c).sort()).toEqual([...all].sort());
    expect(new Set(decisionIds(c)).size).toBe(all.length);
    expect(c.uploads.every((u) => u.headers.authorization === 'Bearer log-token-456' && u.headers['content-encoding'] === 'gzip')).toBe(true);
    // The collector gets the lines as the local log has them, hash chain included.
    const local = new Map((await w.decisions()).map((d) => [d.decision_id, d]));
    for (const e of c.events) expect(e).toEqual(local.get(e.decision_id));
    expect(await metric(w, 'warden_decision_log_shipped_total')).toBe(all.length);
    expect(await metric(w, 'warden_decision_log_dropped_total')).toBe(0);
    expect(await metric(w, 'warden_decision_log_upload_failures_total')).toBeGreaterThan(0);
  });

  it('counts exactly the decisions dropped when the buffer overflows, and ships the rest', async () => {
    const { w, c, token } = await setup({ max_buffer_bytes: 8192 });
    await c.stop();
    const ids = await burst(w, token, 100);
    await w.log();
    // The shipping thread gets the lines within 20 ms and reports its counts after the fact, at the
    // latest with a failed upload. Every line of the burst is counted once the drop counter has
    // stayed the same across two failed uploads (not a fixed number of them: a loaded machine may
    // hand the thread its lines late).
    let dropped = -1;
    for (;;) {
      const before = await metric(w, 'warden_decision_log_dropped_total');
      const failures = await metric(w, 'warden_decision_log_upload_failures_total');
      await until(async () => (await metric(w, 'warden_decision_log_upload_failures_total')) >= failures + 2);
      dropped = await metric(w, 'warden_decision_log_dropped_total');
      if (dropped > 0 && dropped === before) break;
    }
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(100);
    await c.start();
    await c.waitFor(100 - dropped);
    await acknowledged(w);
    expect(decisionIds(c)).toHaveLength(100 - dropped);
    // The shipped ones are the first decisions logged, in log order; the local log has all 100.
    const logged = (await w.decisions()).map((d) => d.decision_id);
    expect(decisionIds(c)).toEqual(logged.slice(0, 100 - dropped));
    expect(new Set(logged)).toEqual(new Set(ids));
    expect((await w.decisions()).length).toBe(100);
    expect(await metric(w, 'warden_decision_log_dropped_total')).toBe(dropped);
    const errors = await (await fetch(`${w.adminUrl}/metrics`)).text();
    expect(errors).toContain(`warden_errors_total{code="AUDIT_BUFFER_FULL"} ${dropped}`);
  });

  it('ships what is buffered when Warden shuts down', async () => {
    const { w, c, token } = await setup({ min_delay: '1h', max_delay: '1h' });
    const ids = await burst(w, token, 40);
    expect(c.events).toHaveLength(0);
    await w.close();
    expect(decisionIds(c).sort()).toEqual([...ids].sort());
  });
});
