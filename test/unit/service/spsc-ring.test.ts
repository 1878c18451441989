// The ring the request path hands records to its threads through: every record comes back once,
// whole and in order, across wrap-arounds and between two threads; a full ring refuses instead of
// overwriting what the reader has not read; the writer is asked to wake the reader once per drain.

import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createRing, RingReader, RingWriter } from '../../../src/service/spsc-ring.js';

/** Writes record `i`: `i` as its first 4 bytes, then `size(i) - 4` bytes of `i & 0xff`. */
const size = (i: number): number => 4 + ((i * 37) % 300);
function write(w: RingWriter, i: number): boolean {
  const n = size(i);
  const at = w.reserve(n);
  if (at < 0) return false;
  w.bytes.writeUInt32LE(i, at);
  w.bytes.fill(i & 0xff, at + 4, at + n);
  w.commit(n);
  return true;
}
/** Reads every record, checking each is whole; returns their numbers. */
function read(r: RingReader): number[] {
  const got: number[] = [];
  r.drain((at, n) => {
    const i = r.bytes.readUInt32LE(at);
    expect(n).toBe(size(i));
    expect(at % 8).toBe(0);
    for (let k = at + 4; k < at + n; k++) if (r.bytes[k] !== (i & 0xff)) throw new Error(`record ${i} torn at ${k - at}`);
    got.push(i);
  });
  return got;
}

describe('spsc ring', () => {
  it('gives back every record once, whole and in order, across many wrap-arounds', () => {
    const sab = createRing(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 400; round++) {
      // Write until full (or a round's worth), then read all: the ring is filled to the end often.
      for (let k = 0; k < 1 + (round % 13) && write(w, next); k++) next++;
      for (const i of read(r)) expect(i).toBe(expected++);
    }
    expect(expected).toBe(next);
    expect(next).toBeGreaterThan(1500);
  });

  it('refuses a record when full, never overwriting unread ones, and takes records again once read', () => {
    const sab = createRing(2048);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    let n = 0;
    while (write(w, n)) n++;
    expect(n).toBeGreaterThan(5);
    expect(write(w, n)).toBe(false);
    expect(read(r)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(write(w, n)).toBe(true);
    expect(read(r)).toEqual([n]);
  });

  it('refuses a record over a quarter of the ring', () => {
    const w = new RingWriter(createRing(4096));
    expect(w.maxRecord).toBe(1024);
    expect(w.reserve(1025)).toBe(-1);
    expect(w.reserve(1024)).toBeGreaterThan(0);
  });

  it('asks the writer to wake the reader once when over half full, and again only after a drain', () => {
    const sab = createRing(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    const wakes: boolean[] = [];
    for (let i = 0; write(w, i); i++) wakes.push(w.shouldWake());
    expect(wakes.filter(Boolean)).toHaveLength(1);
    expect(wakes.indexOf(true)).toBeGreaterThan(3);
    read(r);
    expect(w.shouldWake()).toBe(false);
    for (let i = 0; i < 8; i++) write(w, i);
    for (let i = 8; write(w, i); i++) if (w.shouldWake()) return;
    throw new Error('no second wake after the drain');
  });

  it('carries records from a writer thread to a reader thread, every one once and in order', async () => {
    const sab = createRing(8192);
    const N = 50_000;
    // The writer runs in a thread of its own, retrying while the ring is full.
    const src = `
      const { workerData, parentPort } = require('node:worker_threads');
      const { RingWriter } = require(${JSON.stringify(new URL('../../../src/service/spsc-ring.ts', import.meta.url).pathname)});
      const w = new RingWriter(workerData.sab);
      const size = (i) => 4 + ((i * 37) % 300);
      for (let i = 0; i < workerData.n; ) {
        const n = size(i);
        const at = w.reserve(n);
        if (at < 0) continue;
        w.bytes.writeUInt32LE(i, at);
        w.bytes.fill(i & 0xff, at + 4, at + n);
        w.commit(n);
        i++;
      }
      parentPort.postMessage('done');`;
    const worker = new Worker(`require('tsx/cjs'); ${src}`, { eval: true, workerData: { sab, n: N } });
    const r = new RingReader(sab);
    const got: number[] = [];
    let done = false;
    worker.once('message', () => (done = true));
    while (!done || got.length < N) {
      got.push(...read(r));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await worker.terminate();
    expect(got.length).toBe(N);
    for (let i = 0; i < N; i++) if (got[i] !== i) throw new Error(`record ${i} came back as ${got[i]}`);
  });
});
