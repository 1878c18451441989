import { afterEach, describe, expect, it } from 'vitest';
import { LogShipper, type LogShipperOptions } from '../../../src/audit/log-shipper.js';
import type { WardenError } from '../../../src/errors.js';
import { startCollector, type TestCollector } from '../../helpers/collector.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function shipper(collector: TestCollector, opts: Partial<LogShipperOptions> = {}) {
  const counts = { shipped: 0, dropped: 0, failures: [] as WardenError[] };
  const s = new LogShipper(
    { url: collector.url, minDelayMs: 20, maxDelayMs: 50, maxBufferBytes: 1 << 20, maxUploadBytes: 64 * 1024, timeoutMs: 2000, ...opts },
    { shipped: (n) => (counts.shipped += n), dropped: (n) => (counts.dropped += n), failed: (e) => counts.failures.push(e) },
  );
  cleanups.push(() => s.close(0));
  return { s, counts };
}

const line = (i: number, pad = 0): string => JSON.stringify({ decision_id: `d-${i}`, pad: 'x'.repeat(pad) });

async function collector(): Promise<TestCollector> {
  const c = await startCollector();
  cleanups.push(() => c.close());
  return c;
}

describe('LogShipper (against a real collector)', () => {
  it('posts gzip\'d JSON arrays to <url>/logs with the bearer token, in order, each event once', async () => {
    const c = await collector();
    const { s, counts } = shipper(c, { token: () => 'log-token', maxUploadBytes: 2048 });
    s.start();
    for (let i = 0; i < 500; i++) s.push(line(i, 20));
    await c.waitFor(500);
    // The collector holds the last batch before its answer reaches the shipper, which counts it then.
    for (let i = 0; i < 250 && counts.shipped < 500; i++) await new Promise((r) => setTimeout(r, 20));
    expect(c.events.map((e) => e.decision_id)).toEqual(Array.from({ length: 500 }, (_, i) => `d-${i}`));
    expect(c.uploads.length).toBeGreaterThan(1);
    expect(c.uploads[0]!.headers).toMatchObject({ authorization: 'Bearer log-token', 'content-encoding': 'gzip', 'content-type': 'application/json' });
    expect(counts).toMatchObject({ shipped: 500, dropped: 0 });
  });

  it('keeps events through an outage and delivers each exactly once after it', async () => {
    const c = await collector();
    const { s, counts } = shipper(c);
    s.start();
    for (let i = 0; i < 100; i++) s.push(line(i));
    await c.waitFor(100);
    await c.stop();
    for (let i = 100; i < 200; i++) s.push(line(i));
    while (counts.failures.length < 2) await new Promise((r) => setTimeout(r, 10));
    c.failWith = 503;
    await c.start();
    for (let i = 200; i < 300; i++) s.push(line(i));
    while (counts.failures.length < 4) await new Promise((r) => setTimeout(r, 10));
    c.failWith = undefined;
    await c.waitFor(300);
    expect(c.events.map((e) => e.decision_id)).toEqual(Array.from({ length: 300 }, (_, i) => `d-${i}`));
    expect(counts.failures.every((e) => e.code === 'AUDIT_SHIP_FAILED')).toBe(true);
    expect(counts.dropped).toBe(0);
  });

  it('drops and counts what does not fit the buffer, and ships the rest', async () => {
    const c = await collector();
    c.failWith = 503;
    const one = line(0, 88).length + 1; // 100 bytes with its comma
    const { s, counts } = shipper(c, { maxBufferBytes: one * 10 + 50 });
    s.start();
    for (let i = 0; i < 25; i++) s.push(line(i, 88));
    expect(counts.dropped).toBe(15);
    expect(s.stats).toEqual({ bufferedEvents: 10, bufferedBytes: one * 10 });
    c.failWith = undefined;
    await c.waitFor(10);
    expect(c.events.map((e) => e.decision_id)).toEqual(Array.from({ length: 10 }, (_, i) => `d-${i}`));
    expect(s.stats.bufferedBytes).toBe(0);
  });

  it('sends a batch as soon as it is full, without waiting for the timer, and the rest on close', async () => {
    const c = await collector();
    const { s, counts } = shipper(c, { minDelayMs: 60_000, maxDelayMs: 60_000, maxUploadBytes: 1024 });
    s.start();
    // Every line 109 bytes with its comma: 9 fill a batch, 100 make 11 full ones and one open.
    for (let i = 0; i < 100; i++) s.push(line(i, 79 - String(i).length));
    await c.waitFor(99);
    for (let i = 0; i < 250 && counts.shipped < 99; i++) await new Promise((r) => setTimeout(r, 20));
    expect(c.uploads.map((u) => u.count)).toEqual(Array.from({ length: 11 }, () => 9));
    expect(s.stats.bufferedEvents).toBe(1);
    await s.close(5000);
    expect(c.events.map((e) => e.decision_id)).toEqual(Array.from({ length: 100 }, (_, i) => `d-${i}`));
  });

  it('ships what is left on close, within the drain time', async () => {
    const c = await collector();
    const { s } = shipper(c, { minDelayMs: 60_000, maxDelayMs: 60_000 });
    s.start();
    for (let i = 0; i < 50; i++) s.push(line(i));
    await s.close(5000);
    expect(c.events).toHaveLength(50);
  });

  it('gives up at the drain time when the collector is down, counting the rest as dropped', async () => {
    const c = await collector();
    await c.stop();
    const { s, counts } = shipper(c, { minDelayMs: 60_000, maxDelayMs: 60_000 });
    s.start();
    for (let i = 0; i < 7; i++) s.push(line(i));
    await s.close(300);
    expect(counts.dropped).toBe(7);
    s.push(line(8));
    expect(counts.dropped).toBe(8);
  });
});
