// One upload of the decision-log shipper: decision lines encoded as they arrive into one growing
// off-heap buffer, as the JSON array the collector receives (`[line,line,...]`), and gzip'd once
// when the batch is sealed (full, or due). Nothing of a line stays on the JavaScript heap after
// push(): thousands of line strings kept for seconds were promoted to the old generation and
// collected there, which cost more than the compression (bench/HISTORY.md, issue 14). As in OPA's
// decision-log plugin, a batch is encoded as events arrive, up to the upload size limit.

import { Buffer } from 'node:buffer';
import { promisify } from 'node:util';
import { constants, gzip as gzipCb } from 'node:zlib';
import { withRoom } from '../grow-buffer.js';

const gzip = promisify(gzipCb);

const OPEN = 0x5b; // [
const COMMA = 0x2c;
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

  /** stage() of a line given as its UTF-8 bytes, `src` from `from` to `to`. */
  stageBytes(src: Buffer, from: number, to: number): number {
    const n = to - from;
    const buf = this.#room(n + 1);
    src.copy(buf, this.#len, from, to);
    buf[this.#len + n] = COMMA;
    return n + 1;
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
   * Closes the array and starts compressing it (fastest level: the JSON lines compress ~10× at it).
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
    this.body = gzip(buf.subarray(0, this.#len), { level: constants.Z_BEST_SPEED });
    // Only the gzip'd body waits for the collector.
    this.#buf = undefined;
    if (release) {
      const done = (): void => release(buf);
      this.body.then(done, done);
    }
    return this.body;
  }
}
