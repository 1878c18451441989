import { performance } from 'node:perf_hooks';
// The exporter against a real OTLP/HTTP receiver on port 0: full batches go out as they fill (by
// encoded size, not by a timer), the rest at close(), every request's spans exactly once; a
// failed trace thread stops tracing and nothing else.

import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Tracing } from '../../../src/observability/tracing.js';
import { startOtlpReceiver, type TestOtlpReceiver } from '../../helpers/otlp-receiver.js';
import { backgroundThreads } from '../../helpers/threads.js';
import { until } from '../../helpers/wait.js';

let receiver: TestOtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

const traceparent = (): string => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;

describe('Tracing export', () => {
  it('sends a batch once its spans reach 256 KiB, and what is left at close, each request once', async () => {
    receiver = await startOtlpReceiver();
    const t = new Tracing({ url: `${receiver.url}/v1/traces`, serviceName: 'warden-test', sampleRatio: 1, exportDelayMs: 60_000 });
    const sent: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const phases = t.begin(performance.now());
      for (const name of ['route', 'identify', 'evaluate', 'forward'] as const) phases.end(phases.start(name));
      const tp = traceparent();
      sent.push(tp.slice(3, 35));
      t.record({ phases, endAt: performance.now(), headers: { traceparent: tp }, decisionId: `d-${i}`, method: 'GET', status: 200, outcome: 'allow', upstream: 'github', error: undefined });
    }
    // No timer fires (60 s): what arrives goes because the batch was full. About 530 requests fill
    // one, so 2000 make three, and the rest waits.
    const r = receiver;
    await r.waitFor(() => r.exports.length >= 3);
    await new Promise((res) => setTimeout(res, 200));
    const full = r.exports.length;
    expect(full).toBe(3);
    for (const bytes of receiver.exports) {
      expect(bytes).toBeGreaterThanOrEqual(256 * 1024);
      expect(bytes).toBeLessThan(256 * 1024 + 2048);
    }
    await t.close();
    expect(receiver.exports.length).toBe(full + 1);
    const roots = receiver.spans.filter((s) => s.name === 'warden.request');
    // Exports run concurrently, so they may arrive in any order: each request once is what counts.
    expect(roots.map((s) => s.traceId).sort()).toEqual(sent.sort());
    expect(receiver.spans).toHaveLength(10_000);
  });

  it('runs its thread at a lower priority than the request path', async () => {
    receiver = await startOtlpReceiver();
    const before = backgroundThreads();
    const t = new Tracing({ url: `${receiver.url}/v1/traces`, serviceName: 'warden-test', sampleRatio: 1, exportDelayMs: 60_000 });
    await until(() => backgroundThreads() === before + 1);
    await t.close();
  });

  it('stops tracing, and never throws, when the trace thread fails', async () => {
    const errors: unknown[] = [];
    // The exporter refuses the URL in the thread, as it would any failure of the thread.
    const t = new Tracing({ url: 'not a url', serviceName: 'warden-test', sampleRatio: 1, exportDelayMs: 60_000, onError: (err) => errors.push(err) });
    await until(() => errors.length > 0);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('export URL');
    const phases = t.begin(performance.now());
    phases.end(phases.start('route'));
    expect(() => t.record({ phases, endAt: performance.now(), headers: { traceparent: traceparent() }, decisionId: 'd', method: 'GET', status: 200, outcome: 'allow', upstream: 'github', error: undefined })).not.toThrow();
    await t.close();
  });
});
