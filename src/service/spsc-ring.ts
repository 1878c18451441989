// A ring of records in a SharedArrayBuffer, written by one thread and read by one other: how the
// request path hands traced requests (observability/tracing.ts) and decision lines
// (audit/shipping.ts) to the threads that encode and send them. The writer never wakes the reader:
// the reader drains the ring on its own timer. A postMessage per batch woke the idle reader's
// core each time, and that wake-up cost the request path's thread 40-230 µs a message on this host
// (bench/HISTORY.md, issue 14, fourteenth session); writing into the ring costs a few stores and
// one atomic store a record, and nothing is allocated, transferred or collected.
//
// Layout: a header of two positions in bytes from the data's start, `head` (where the writer
// writes next; published once a record is written) and `tail` (where the reader reads next;
// published once records are read), then the data. A record is its length (Int32), 4 bytes of
// padding, and its payload, padded to 8 bytes so that every payload starts 8-aligned (a
// Float64Array can read numbers there). A record that does not fit before the end starts at 0,
// after a length of -1 where it would have been.

import { Buffer } from 'node:buffer';

const HEAD = 0;
const TAIL = 16;
/** 1 from when the writer asked the reader to drain early until the reader has drained. */
const WAKE = 32;
/** The header's size: head, tail and the wake flag, each on its own cache line. */
const DATA = 192;
const FRAME = 8;

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * How many bytes (0-7) to skip at offset `to` so that bytes copied from offset `from` land at the
 * same remainder mod 8. V8 copies into and out of a SharedArrayBuffer with relaxed atomics, a word
 * at a time only between addresses alike mod 8, else byte by byte: a 1.8 KB line took 0.3 instead
 * of 1.3 µs to copy into a ring, and 0.2 instead of 0.8-1.2 out of it (bench/HISTORY.md, issue 14,
 * fifteenth session). Offsets count from their ArrayBuffer's start, which V8 aligns to 8 at least.
 */
export function alikeMod8(from: number, to: number): number {
  return (from - to) & 7;
}

/** A ring's shared memory with room for `bytes` of records (rounded up to 8). */
export function createRing(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(DATA + align8(bytes));
}

/** Views of a ring's memory, the same for both ends. */
class RingViews {
  readonly i32: Int32Array;
  /** The whole ring's bytes; a payload at `at` is `bytes[at, at + n)`. */
  readonly bytes: Buffer;
  /** The whole ring as numbers; an 8-aligned payload at `at` starts at index `at / 8`. */
  readonly f64: Float64Array;
  readonly capacity: number;

  constructor(sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab);
    this.bytes = Buffer.from(sab);
    this.f64 = new Float64Array(sab);
    this.capacity = sab.byteLength - DATA;
  }
}

/** The writing end. */
export class RingWriter extends RingViews {
  #head = 0;
  #tail = 0;
  /** Where the record reserved last starts (its length goes there), -1 when none is. */
  #reserved = -1;

  /** The largest payload the ring takes: a quarter of it, so that one record never blocks it for long. */
  get maxRecord(): number {
    return this.capacity >> 2;
  }

  /**
   * Room for one record of at most `max` bytes: where its payload goes (an index into `bytes`,
   * 8-aligned), or -1 when the ring has no room for it now (the reader is behind) or ever (over
   * `maxRecord`). `commit` ends it.
   */
  reserve(max: number): number {
    if (max > this.maxRecord) return -1;
    const need = FRAME + align8(max);
    for (let fresh = false; ; fresh = true) {
      const at = this.#room(need);
      if (at >= 0) {
        this.#reserved = at;
        return DATA + at + FRAME;
      }
      if (fresh) return -1;
      // The reader may have moved since the tail was last read.
      this.#tail = Atomics.load(this.i32, TAIL);
    }
  }

  /** Where a record of `need` bytes can go, writing the wrap mark when it starts over at 0; -1: no room. */
  #room(need: number): number {
    const head = this.#head;
    const tail = this.#tail;
    if (head < tail) return tail - head > need ? head : -1;
    if (this.capacity - head >= need) return head;
    // Not before the end: at 0, when that leaves the tail ahead (head === tail means empty).
    if (tail <= need) return -1;
    if (head < this.capacity) this.i32[(DATA + head) >> 2] = -1;
    this.#head = 0;
    return 0;
  }

  /** Publishes the record reserved last, `n` bytes long (at most what was reserved). */
  commit(n: number): void {
    const at = this.#reserved;
    this.#reserved = -1;
    this.i32[(DATA + at) >> 2] = n;
    this.#head = at + FRAME + align8(n);
    Atomics.store(this.i32, HEAD, this.#head);
  }

  /**
   * True when the ring is over half full and the reader has not been asked to drain early since it
   * last drained: the caller then wakes it (its timer was not soon enough). True once per drain.
   */
  shouldWake(): boolean {
    const d = this.#head - (this.#tail = Atomics.load(this.i32, TAIL));
    if ((d >= 0 ? d : d + this.capacity) < this.capacity >> 1) return false;
    return Atomics.compareExchange(this.i32, WAKE, 0, 1) === 0;
  }
}

/** The reading end. */
export class RingReader extends RingViews {
  #tail = 0;

  /**
   * Calls `each(at, n)` for every record published so far, in order (its payload is
   * `bytes[at, at + n)`, valid during the call), then frees them; returns how many there were.
   */
  drain(each: (at: number, n: number) => void): number {
    const head = Atomics.load(this.i32, HEAD);
    let p = this.#tail;
    let count = 0;
    try {
      while (p !== head) {
        const n = p < this.capacity ? this.i32[(DATA + p) >> 2]! : -1;
        if (n < 0) {
          p = 0;
          continue;
        }
        const at = p;
        p += FRAME + align8(n);
        count++;
        each(DATA + at + FRAME, n);
      }
    } finally {
      this.#tail = p;
      Atomics.store(this.i32, TAIL, p);
      Atomics.store(this.i32, WAKE, 0);
    }
    return count;
  }
}
