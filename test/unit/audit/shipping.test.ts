// The main-thread side of decision-log shipping (src/audit/shipping.ts) with its real thread, a
// real collector on port 0 and the real metrics: what is pushed arrives once, the thread's reports
// drive the counters, a rotated token file applies in the thread, and a thread that dies costs
// the decisions it held (counted) and nothing else.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigText, type LoadedConfig } from '../../../src/config/load.js';
import { createLogShipper, lineSkip, type DecisionShipper } from '../../../src/audit/shipping.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { startCollector, type TestCollector } from '../../helpers/collector.js';
import { SCHED_IDLE } from '../../../src/service/thread.js';
import { backgroundThreads, chrtInstalled, SCHED_OTHER } from '../../helpers/threads.js';
import { until } from '../../helpers/wait.js';

process.env.UNIT_SHIP_ADMIN_TOKEN = 'unit-ship-admin-token-0123456789';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function collector(): Promise<TestCollector> {
  const c = await startCollector();
  cleanups.push(() => c.close());
  return c;
}

/** A configuration with `decision_log.service` at `url` (and `service`'s other keys), its token in a file. */
function configure(url: string, service: Record<string, unknown> = {}): { loaded: LoadedConfig; tokenFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'warden-shipping-'));
  const tokenFile = join(dir, 'log-token');
  writeFileSync(tokenFile, 'token-one\n');
  const svc = JSON.stringify({ url, credentials: { bearer: '${file:log-token}' }, ...service });
  const loaded = loadConfigText(`admin: { token: '\${env:UNIT_SHIP_ADMIN_TOKEN}' }\ndecision_log: { service: ${svc} }\n`, dir);
  return { loaded, tokenFile };
}

function start(loaded: LoadedConfig, tuning: { lowerAfterMs?: number } = {}) {
  const metrics = new Metrics();
  const logged: Record<string, any>[] = [];
  const ops = pino({ level: 'info' }, { write: (s: string) => void logged.push(JSON.parse(s)) });
  const shipper = createLogShipper(loaded, metrics, ops, tuning)!;
  cleanups.push(() => shipper.close(0));
  shipper.start();
  return { shipper, metrics, logged };
}

const value = async (c: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }, code?: string): Promise<number> =>
  (await c.get()).values.find((v) => code === undefined || v.labels.code === code)?.value ?? 0;

/** Pushes decisions `from`..`to - 1` as the decision log does: each line as bytes of a larger buffer. */
function push(s: DecisionShipper, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    // As the decision log hands them over: bytes of a larger buffer, starting at every remainder
    // mod 8 (the ring places a line by it: shipping.ts, lineSkip).
    const skip = 1 + (i % 8);
    const b = Buffer.from(`${'\n'.repeat(skip)}{"decision_id":"d-${i}","pad":"${'x'.repeat(i % 50)}"}\n`);
    s.push(b, skip, b.length - 1);
  }
}

const ids = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `d-${from + i}`);

describe('lineSkip', () => {
  it('places a line 1-8 bytes into its record, at the remainder mod 8 it had (a word-at-a-time copy)', () => {
    for (let offset = 0; offset < 64; offset++) {
      const skip = lineSkip(offset);
      expect(skip).toBeGreaterThanOrEqual(1);
      expect(skip).toBeLessThanOrEqual(8);
      expect(skip % 8).toBe(offset % 8);
    }
  });
});

describe('decision-log shipping in its thread (against a real collector)', () => {
  it('delivers every pushed decision once, in order, by close(), and counts it shipped', async () => {
    const c = await collector();
    const { loaded } = configure(c.url, { min_delay: '1h', max_delay: '1h', max_upload_bytes: 16384 });
    const { shipper, metrics } = start(loaded);
    // 1000 decisions: full batches go out at once; the last ones wait in the ring for the thread's drain.
    push(shipper, 0, 1000);
    await shipper.close(5000);
    expect(c.events.map((e) => e.decision_id)).toEqual(ids(0, 1000));
    expect(c.events[7]).toEqual({ decision_id: 'd-7', pad: 'xxxxxxx' });
    expect(c.uploads.length).toBeGreaterThan(1);
    expect(await value(metrics.logShipped)).toBe(1000);
    expect(await value(metrics.logDropped)).toBe(0);
    expect(shipper.stats).toEqual({ bufferedBytes: 0, bufferedEvents: 0 });
    // After close a decision is dropped and counted, as LogShipper does.
    push(shipper, 1000, 1001);
    expect(await value(metrics.logDropped)).toBe(1);
    expect(await value(metrics.errors, 'AUDIT_BUFFER_FULL')).toBe(1);
  });

  it('runs its thread at nice 10 and only on an idle core; raises it to SCHED_OTHER when it falls behind, and lowers it again once it keeps up', async () => {
    const c = await collector();
    // Where chrt is installed (Debian, CI), the thread must be SCHED_IDLE at first.
    const chrt = chrtInstalled();
    const before = { idle: backgroundThreads(SCHED_IDLE), other: backgroundThreads(SCHED_OTHER) };
    const { shipper, metrics } = start(configure(c.url, { min_delay: '200ms', max_delay: '300ms' }).loaded, { lowerAfterMs: 300 });
    // A shipped line: the thread has set its priority (its first step) and works.
    push(shipper, 0, 1);
    await c.waitFor(1);
    if (!chrt) {
      expect(backgroundThreads(SCHED_OTHER)).toBe(before.other + 1);
      return;
    }
    expect(backgroundThreads(SCHED_IDLE)).toBe(before.idle + 1);
    expect(backgroundThreads(SCHED_OTHER)).toBe(before.other);
    // Lines faster than the thread's timer drains them (every 100 ms): over half its 4 MiB ring
    // at once, until the main thread has found it behind and raised it.
    const line = Buffer.from(`{"decision_id":"burst","pad":"${'z'.repeat(2000)}"}`);
    let sent = 1;
    await until(() => {
      for (let i = 0; i < 1200; i++, sent++) shipper.push(line, 0, line.length);
      return backgroundThreads(SCHED_OTHER) === before.other + 1;
    });
    expect(backgroundThreads(SCHED_IDLE)).toBe(before.idle);
    // Raised, it ships the bursts (a line that found the ring full is dropped and counted), keeps
    // up for lowerAfterMs, and takes SCHED_IDLE again.
    await until(async () => (await value(metrics.logShipped)) + (await value(metrics.logDropped)) === sent);
    expect(c.events.length).toBe(await value(metrics.logShipped));
    await until(() => backgroundThreads(SCHED_IDLE) === before.idle + 1);
    expect(backgroundThreads(SCHED_OTHER)).toBe(before.other);
  });

  it('delivers a line too large for the ring (over 1 MiB) once, with the lines around it', async () => {
    const c = await collector();
    const { loaded } = configure(c.url, { min_delay: '1h', max_delay: '1h' });
    const { shipper, metrics } = start(loaded);
    push(shipper, 0, 10);
    const big = Buffer.from(`{"decision_id":"d-big","pad":"${'y'.repeat(1_200_000)}"}`);
    shipper.push(big, 0, big.length);
    push(shipper, 10, 20);
    await shipper.close(5000);
    // Every line once; the large one after all that preceded it (it may pass a few that followed).
    const got = c.events.map((e) => e.decision_id);
    expect([...got].sort()).toEqual([...ids(0, 20), 'd-big'].sort());
    expect(got.indexOf('d-big')).toBeGreaterThanOrEqual(10);
    expect(c.events.find((e) => e.decision_id === 'd-big')!.pad).toHaveLength(1_200_000);
    expect(await value(metrics.logShipped)).toBe(21);
    expect(await value(metrics.logDropped)).toBe(0);
  });

  it('reports shipments and the buffer as they happen, and re-reads a rotated token file per upload', async () => {
    const c = await collector();
    const { loaded, tokenFile } = configure(c.url, { min_delay: '20ms', max_delay: '50ms' });
    const { shipper, metrics } = start(loaded);
    push(shipper, 0, 300);
    await c.waitFor(300);
    // The report that empties the buffer carries the counts that emptied it.
    await until(() => shipper.stats.bufferedEvents === 0);
    expect(await value(metrics.logShipped)).toBe(300);
    expect(await metrics.registry.getSingleMetricAsString('warden_decision_log_buffer_bytes')).toMatch(/ 0$/);
    writeFileSync(tokenFile, 'token-two-rotated\n');
    push(shipper, 300, 310);
    await c.waitFor(310);
    await shipper.close(5000);
    expect(c.events.map((e) => e.decision_id)).toEqual(ids(0, 310));
    expect(c.uploads[0]!.headers.authorization).toBe('Bearer token-one');
    expect(c.uploads.at(-1)!.headers.authorization).toBe('Bearer token-two-rotated');
    expect(await value(metrics.logShipped)).toBe(310);
  });

  it('counts failed uploads and drops from the thread, and logs a failure with the buffer it holds', async () => {
    const c = await collector();
    await c.stop();
    const { loaded } = configure(c.url, { min_delay: '20ms', max_delay: '50ms', max_buffer_bytes: 2048 });
    const { shipper, metrics, logged } = start(loaded);
    push(shipper, 0, 100);
    await until(async () => (await value(metrics.logUploadFailures)) >= 2);
    await shipper.close(100);
    const dropped = await value(metrics.logDropped);
    // Nothing reached the collector: each decision is dropped, in the buffer's overflow or at the drain time.
    expect(dropped).toBe(100);
    expect(await value(metrics.errors, 'AUDIT_BUFFER_FULL')).toBe(100);
    expect(await value(metrics.logShipped)).toBe(0);
    const warned = logged.filter((l) => l.msg === 'decision-log upload failed; retrying with backoff');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ code: 'AUDIT_SHIP_FAILED', level: 40 });
    expect(warned[0]!.buffered_bytes).toBeGreaterThan(1000);
    expect(warned[0]!.dropped).toBeGreaterThan(0);
  });

  it('when the thread dies: logs it once, counts what it held and every later decision as dropped, and close() resolves', async () => {
    const c = await collector();
    const { loaded } = configure(c.url);
    const svc = loaded.config.decision_log.service!;
    // A URL that is not a string makes LogShipper's constructor throw in the thread.
    const broken: LoadedConfig = { ...loaded, config: { ...loaded.config, decision_log: { ...loaded.config.decision_log, service: { ...svc, url: 42 as unknown as string } } } };
    const { shipper, metrics, logged } = start(broken);
    push(shipper, 0, 10);
    const died = () => logged.filter((l) => l.level === 50);
    await until(() => died().length > 0);
    expect(await value(metrics.logDropped)).toBe(10);
    push(shipper, 10, 15);
    expect(await value(metrics.logDropped)).toBe(15);
    expect(await value(metrics.errors, 'AUDIT_BUFFER_FULL')).toBe(15);
    await shipper.close(5000);
    expect(died()).toHaveLength(1);
    expect(died()[0]).toMatchObject({ dropped: 10, msg: 'the decision-log shipping thread ended; decisions are no longer shipped (the local log keeps them)' });
    expect(c.events).toHaveLength(0);
    expect(await value(metrics.logDropped)).toBe(15);
  });
});
