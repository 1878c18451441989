// One upload of the decision-log shipper: decision lines encoded as they arrive into one growing
// off-heap buffer, as the JSON array the collector receives (`[line,line,...]`), and gzip'd once
// when the batch is sealed (full, or due). Nothing of a line stays on the JavaScript heap after
// push(): thousands of line strings kept for seconds were promoted to the old generation and
// collected there, which cost more than the compression (bench/HISTORY.md, issue 14). As in OPA's
// decision-log plugin, a batch is encoded as events arrive, up to the upload size limit.

import { Buffer } from 'node:buffer';
import { constants, gzipSync, type ZlibOptions } from 'node:zlib';
import { withRoom } from '../grow-buffer.js';
import { alikeMod8 } from '../service/spsc-ring.js';

/**
 * Compressed in the calling thread (the shipping thread), at the fastest level, with room for the
 * whole output of a batch in one or two calls: 3.9-4.2 µs a 1.8 KB line, where zlib's asynchronous
 * gzip (the thread pool, 16 KiB output chunks) took 6.2-6.6 µs of CPU (bench/HISTORY.md, issue 14,
 * fifteenth session). A 1 MiB batch holds the thread for about 2.5 ms.
 */
const GZIP: ZlibOptions = { level: constants.Z_BEST_SPEED, chunkSize: 128 * 1024 };

const OPEN = 0x5b; // [
const COMMA = 0x2c;
const SPACE = 0x20;
const CLOSE = 0x5d; // ]

/** First capacity of a batch's buffer; it doubles as lines arrive. */
const INITIAL_BYTES = 64 * 1024;

export class ShipBatch {
  #buf: Buffer | undefined;
  /** Bytes written and kept: `[` and each kept line with its comma. */
  #len = 1;
  /** Lines kept. */
  events = 0;
  /** UTF-8 size of the kept lines, each with its comma (what the shipper's buffer bound counts). */
  bytes = 0;
  /** The gzip'd array, once sealed. */
  body: Promise<Buffer> | undefined;

  /** `spare`: a buffer a sealed batch gave back (seal()'s `release`), used when it holds `capacity`. */
  constructor(capacity = INITIAL_BYTES, spare?: Buffer) {
    const size = Math.max(capacity, 16);
    this.#buf = spare !== undefined && spare.length >= size ? spare : Buffer.allocUnsafe(size);
    this.#buf[0] = OPEN;
  }

  /**
   * Writes the line `line + rest` and its comma after the kept lines without keeping it yet;
   * returns its size. Only the next `keep()` (or `moveStaged()`) makes it part of the batch.
   */
  stage(line: string, rest = ''): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: room for that spares measuring the line first.
    const buf = this.#room((line.length + rest.length) * 3 + 1);
    let n = buf.write(line, this.#len, 'utf8');
    if (rest.length > 0) n += buf.write(rest, this.#len + n, 'utf8');
    buf[this.#len + n] = COMMA;
    return n + 1;
  }

  /**
   * stage() of a line given as its UTF-8 bytes, `src` from `from` to `to`. A line in shared memory
   * (the ring of shipping.ts) is preceded by up to 7 spaces, so that it lands alike mod 8 with where
   * it lies there and is copied out a word at a time (alikeMod8). JSON allows the spaces, and the
   * size returned counts them.
   */
  stageBytes(src: Buffer, from: number, to: number): number {
    const n = to - from;
    const buf = this.#room(n + 8);
    let at = this.#len;
    if (src.buffer instanceof SharedArrayBuffer) {
      const end = at + alikeMod8(src.byteOffset + from, buf.byteOffset + at);
      while (at < end) buf[at++] = SPACE;
    }
    src.copy(buf, at, from, to);
    buf[at + n] = COMMA;
    return at - this.#len + n + 1;
  }

  /** Keeps the staged line of `size` bytes. */
  keep(size: number): void {
    this.#len += size;
    this.events++;
    this.bytes += size;
  }

  /** Keeps the line staged here (of `size` bytes) in `other` instead. */
  moveStaged(size: number, other: ShipBatch): void {
    this.#buf!.copy(other.#room(size), other.#len, this.#len, this.#len + size);
    other.keep(size);
  }

  /** The buffer, grown (doubling) so that `bytes` more fit after the kept lines. */
  #room(bytes: number): Buffer {
    return (this.#buf = withRoom(this.#buf!, this.#len, bytes));
  }

  /**
   * Closes the array and compresses it (GZIP; the JSON lines compress ~10× at the fastest level).
   * Once compressed, the buffer of the uncompressed bytes goes to `release` (for the next batch):
   * a new buffer per batch, grown by doubling to the upload size, was tens of MB a second of
   * ArrayBuffers at saturation, and V8 answered that external memory with major GCs
   * (bench/HISTORY.md, issue 14, fifth session).
   */
  seal(release?: (buf: Buffer) => void): Promise<Buffer> {
    if (this.body) return this.body;
    if (this.events === 0) throw new RangeError('empty decision-log batch');
    const buf = this.#buf!;
    buf[this.#len - 1] = CLOSE;
    // Only the gzip'd body waits for the collector.
    this.#buf = undefined;
    try {
      this.body = Promise.resolve(gzipSync(buf.subarray(0, this.#len), GZIP));
    } catch (err) {
      this.body = Promise.reject(err as Error);
    }
    release?.(buf);
    return this.body;
  }
}
