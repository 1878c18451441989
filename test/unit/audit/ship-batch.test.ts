import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ShipBatch } from '../../../src/audit/ship-batch.js';

const unzip = async (b: ShipBatch): Promise<unknown> => JSON.parse(gunzipSync(await b.seal()).toString('utf8'));

describe('ShipBatch', () => {
  it('encodes kept lines as one gzip\'d JSON array, counting each line\'s UTF-8 bytes and its comma', async () => {
    const lines = [{ d: 1, s: 'plain' }, { d: 2, s: 'zwölf Ärzte — 日本 😀' }, { d: 3, s: 'x'.repeat(5000) }].map((o) => JSON.stringify(o));
    const b = new ShipBatch(16);
    for (const line of lines) b.keep(b.stage(line));
    expect(b.events).toBe(3);
    expect(b.bytes).toBe(lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0));
    expect(await unzip(b)).toEqual(lines.map((l) => JSON.parse(l)));
  });

  it('writes a line given in two parts as the one line they make', async () => {
    const b = new ShipBatch(8);
    const size = b.stage('{"a":"zwölf","chain":', '{"seq":1,"x":"日本"}}');
    b.keep(size);
    b.keep(b.stage('{"b":2}'));
    expect(size).toBe(Buffer.byteLength('{"a":"zwölf","chain":{"seq":1,"x":"日本"}}') + 1);
    expect(await unzip(b)).toEqual([{ a: 'zwölf', chain: { seq: 1, x: '日本' } }, { b: 2 }]);
  });

  it('takes a line as its bytes from the middle of a larger buffer, as the decision log hands it over', async () => {
    const line = JSON.stringify({ d: 1, s: 'zwölf Ärzte — 日本 😀', pad: 'y'.repeat(300) });
    const src = Buffer.from(`{"before":0}\n${line}\n{"after":0}`);
    const from = src.indexOf(0x0a) + 1;
    const b = new ShipBatch(16);
    const size = b.stageBytes(src, from, src.indexOf(0x0a, from));
    b.keep(size);
    b.keep(b.stage('{"d":2}'));
    expect(size).toBe(Buffer.byteLength(line) + 1);
    expect(await unzip(b)).toEqual([JSON.parse(line), { d: 2 }]);
  });

  it('leaves out a staged line that was not kept, and moves one to the next batch whole', async () => {
    const a = new ShipBatch(64);
    a.keep(a.stage('{"n":1}'));
    a.stage('{"n":"dropped"}');
    const size = a.stage('{"n":"ü-moved"}');
    const b = new ShipBatch(4);
    a.moveStaged(size, b);
    a.keep(a.stage('{"n":2}'));
    expect(await unzip(a)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await unzip(b)).toEqual([{ n: 'ü-moved' }]);
    expect(b.bytes).toBe(Buffer.byteLength('{"n":"ü-moved"}') + 1);
  });

  it('gives its buffer back once compressed, and a batch made with it encodes afresh while the first body stays intact', async () => {
    const a = new ShipBatch(64);
    a.keep(a.stage('{"first":"' + 'a'.repeat(200) + '"}'));
    let released: Buffer | undefined;
    const body = await a.seal((buf) => (released = buf));
    await new Promise((r) => setImmediate(r));
    expect(released).toBeInstanceOf(Buffer);
    const b = new ShipBatch(64, released);
    b.keep(b.stage('{"second":"' + 'b'.repeat(50) + '"}'));
    expect(await unzip(b)).toEqual([{ second: 'b'.repeat(50) }]);
    expect(released!.subarray(0, 11).toString()).toBe('[{"second":'); // b wrote into the given buffer
    // The first batch's gzip'd body owns its bytes: writing the reused buffer changed nothing in it.
    expect(JSON.parse(gunzipSync(body).toString('utf8'))).toEqual([{ first: 'a'.repeat(200) }]);
    // A spare too small for the capacity asked is not used.
    const c = new ShipBatch(1 << 20, Buffer.alloc(16));
    c.keep(c.stage('{"c":3}'));
    expect(await unzip(c)).toEqual([{ c: 3 }]);
  });

  it('seals once, and never empty', async () => {
    const b = new ShipBatch();
    expect(() => b.seal()).toThrow(RangeError);
    b.keep(b.stage('{}'));
    expect(b.seal()).toBe(b.seal());
    expect(await unzip(b)).toEqual([{}]);
  });
});

describe('ShipBatch, lines from shared memory', () => {
  it('puts each line at the remainder mod 8 it has in shared memory (up to 7 spaces before it), and the array still parses to the lines', async () => {
    const ring = Buffer.from(new SharedArrayBuffer(4096));
    const lines: string[] = [];
    const b = new ShipBatch(16);
    let len = 1; // after '['
    for (let k = 0; k < 24; k++) {
      const line = JSON.stringify({ k, s: 'zwölf'.repeat(k % 5), pad: 'x'.repeat(k * 7) });
      const from = 64 * k + ((k * 3) % 8);
      const n = ring.write(line, from);
      const size = b.stageBytes(ring, from, from + n);
      b.keep(size);
      const pad = size - n - 1;
      expect(pad).toBeGreaterThanOrEqual(0);
      expect(pad).toBeLessThan(8);
      expect((len + pad) % 8).toBe(from % 8);
      len += size;
      lines.push(line);
    }
    expect(b.bytes).toBe(len - 1);
    expect(await unzip(b)).toEqual(lines.map((l) => JSON.parse(l)));
  });
});
