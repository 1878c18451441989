import { performance } from 'node:perf_hooks';
// The exporter against a real OTLP/HTTP receiver on port 0: full batches go out as they fill (by
// encoded size, not by a timer), the rest at close(), every request's spans exactly once; a
// failed trace thread stops tracing and nothing else.

import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Tracing, type RequestSummary } from '../../../src/observability/tracing.js';
import { SCHED_IDLE } from '../../../src/service/thread.js';
import { startOtlpReceiver, type TestOtlpReceiver } from '../../helpers/otlp-receiver.js';
import { backgroundThreads, chrtInstalled } from '../../helpers/threads.js';
import { until } from '../../helpers/wait.js';

let receiver: TestOtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

const traceparent = (): string => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;

/** Records one traced request with a `route` phase, a fresh sampled parent, and `more` over its summary's fields. */
function recordOne(t: Tracing, more: Partial<RequestSummary> = {}): void {
  const phases = t.begin(performance.now());
  phases.end(phases.start('route'));
  t.record({ phases, endAt: performance.now(), headers: { traceparent: traceparent() }, decisionId: 'd', method: 'GET', status: 200, outcome: 'allow', upstream: 'github', error: undefined, ...more });
}

describe('Tracing export', () => {
  it('sends a batch once its spans reach 1 MiB, and what is left at close, each request once', async () => {
    receiver = await startOtlpReceiver();
    let dropped = 0;
    const t = new Tracing({ url: `${receiver.url}/v1/traces`, serviceName: 'warden-test', sampleRatio: 1, exportDelayMs: 60_000, onDropped: () => dropped++ });
    const sent: string[] = [];
    const r = receiver;
    // No timer fires (60 s): what arrives goes because the batch was full. About 2100 of these
    // requests fill one: two rounds of 2500 (each fits the ring) make two, and the rest waits.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2500; i++) {
        const phases = t.begin(performance.now());
        for (const name of ['route', 'identify', 'evaluate', 'forward'] as const) phases.end(phases.start(name));
        const tp = traceparent();
        sent.push(tp.slice(3, 35));
        t.record({ phases, endAt: performance.now(), headers: { traceparent: tp }, decisionId: `d-${round}-${i}`, method: 'GET', status: 200, outcome: 'allow', upstream: 'github', error: undefined });
      }
      await r.waitFor(() => r.exports.length >= round + 1);
    }
    await new Promise((res) => setTimeout(res, 200));
    const full = r.exports.length;
    expect(full).toBe(2);
    expect(dropped).toBe(0);
    for (const bytes of receiver.exports) {
      expect(bytes).toBeGreaterThanOrEqual(1024 * 1024);
      expect(bytes).toBeLessThan(1024 * 1024 + 2048);
    }
    await t.close();
    expect(receiver.exports.length).toBe(full + 1);
    const roots = receiver.spans.filter((s) => s.name === 'warden.request');
    // Exports run concurrently, so they may arrive in any order: each request once is what counts.
    expect(roots.map((s) => s.traceId).sort()).toEqual(sent.sort());
    expect(receiver.spans).toHaveLength(25_000);
  });

  it('runs its thread below the request path: nice 10 lower, and only on an idle core where chrt can set that', async () => {
    receiver = await startOtlpReceiver();
    // Where chrt is installed (Debian, CI), the thread must be SCHED_IDLE.
    const policy = chrtInstalled() ? SCHED_IDLE : undefined;
    const before = backgroundThreads(policy);
    const t = new Tracing({ url: `${receiver.url}/v1/traces`, serviceName: 'warden-test', sampleRatio: 1, exportDelayMs: 10 });
    // An exported trace: the thread has set its priority (its first step) and works.
    recordOne(t);
    const r = receiver;
    await r.waitFor(() => r.spans.length > 0);
    expect(backgroundThreads(policy)).toBe(before + 1);
    await t.close();
  });

  it('counts a sampled request it cannot pack (a ring full, or a request too large for it), and only that', async () => {
    receiver = await startOtlpReceiver();
    let dropped = 0;
    const t = new Tracing({ url: `${receiver.url}/v1/traces`, serviceName: 'warden-test', sampleRatio: 1, exportDelayMs: 60_000, onDropped: () => dropped++ });
    const record = (error: string | undefined): void => recordOne(t, { status: 502, error });
    record('upstream_timeout');
    expect(dropped).toBe(0);
    // Over a quarter of the 1 MiB ring: never packed.
    record('x'.repeat(300_000));
    expect(dropped).toBe(1);
    record(undefined);
    expect(dropped).toBe(1);
    await t.close();
    expect(receiver.spans.filter((s) => s.name === 'warden.request')).toHaveLength(2);
  });

  it('stops tracing, and never throws, when the trace thread fails', async () => {
    const errors: unknown[] = [];
    // The exporter refuses the URL in the thread, as it would any failure of the thread.
    const t = new Tracing({ url: 'not a url', serviceName: 'warden-test', sampleRatio: 1, exportDelayMs: 60_000, onError: (err) => errors.push(err) });
    await until(() => errors.length > 0);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('export URL');
    expect(() => recordOne(t)).not.toThrow();
    await t.close();
  });
});
