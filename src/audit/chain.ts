// The decision log's hash chain (DESIGN.md "Decision log"): every line ends with
// `"chain":{"seq":N,"prev":P,"hash":H}` where H = SHA-256(P + the line without its chain field).
// The chain field is appended as text, so the verifier recovers the hashed bytes exactly by
// cutting it off again: no canonical JSON is needed, and an edit of any byte breaks the hash.

import { Buffer } from 'node:buffer';
import * as crypto from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** `prev` of the first line of a chain. */
export const GENESIS = '0'.repeat(64);

/** Bytes of a hash in hex: what linkBytes() expects free in front of a line. */
export const PREV_BYTES = 64;

export interface ChainHead {
  /** seq of the last line written; -1 before the first. */
  readonly seq: number;
  /** hash of the last line written (GENESIS before the first). */
  readonly hash: string;
}

export const EMPTY_HEAD: ChainHead = { seq: -1, hash: GENESIS };

export interface ChainLink {
  seq: number;
  prev: string;
  hash: string;
}

// crypto.hash() (Node ≥ 20.12) is a one-shot digest without a Hash object: measured about a
// quarter cheaper a line (bench/chain.ts); older Node 20 releases take createHash.
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Buffer) => string }).hash;

/** SHA-256 in hex, one-shot where Node has it (also the request body's digest). */
export function sha256Hex(data: string | Buffer): string {
  return oneShot ? oneShot('sha256', data) : crypto.createHash('sha256').update(data).digest('hex');
}

export function chainHash(prev: string, body: string): string {
  return sha256Hex(prev + body);
}

/** Links lines one after the other; the head moves with each. */
export class Chain {
  #seq: number;
  #hash: string;

  constructor(head: ChainHead = EMPTY_HEAD) {
    this.#seq = head.seq;
    this.#hash = head.hash;
  }

  get head(): ChainHead {
    return { seq: this.#seq, hash: this.#hash };
  }

  /**
   * Links one line given as bytes: `buf` holds the line's UTF-8 bytes from PREV_BYTES to `end`,
   * and this writes the previous hash into its first PREV_BYTES, so that the hash is taken over
   * `prev + line` without a concatenated copy. Returns the chain field that replaces the line's
   * closing brace.
   */
  linkBytes(buf: Buffer, end: number): string {
    const prev = this.#hash;
    buf.write(prev, 0, PREV_BYTES, 'latin1');
    const hash = sha256Hex(buf.subarray(0, end));
    this.#seq += 1;
    this.#hash = hash;
    return `,"chain":{"seq":${this.#seq},"prev":"${prev}","hash":"${hash}"}}`;
  }
}

const SUFFIX = /,"chain":\{"seq":(\d+),"prev":"([0-9a-f]{64})","hash":"([0-9a-f]{64})"\}\}$/;

/** A chained line split into the hashed body and its link; undefined when it carries no chain. */
export function splitChained(line: string): { body: string; link: ChainLink } | undefined {
  const m = SUFFIX.exec(line);
  if (!m) return undefined;
  return { body: `${line.slice(0, m.index)}}`, link: { seq: Number(m[1]), prev: m[2]!, hash: m[3]! } };
}

const TAIL_BYTES = 1 << 20;

/**
 * The head of the chain at the end of an existing log file, so a restarted Warden continues it.
 * Reads at most the last MiB; a file without a chained last line starts a new chain.
 * `torn` says the file does not end with a newline (a crash mid-write): the next write starts a
 * new line, and `warden audit verify` names the torn one.
 */
export function readChainHead(path: string): { head: ChainHead; torn: boolean } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { head: EMPTY_HEAD, torn: false };
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return { head: EMPTY_HEAD, torn: false };
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const text = buf.toString('utf8');
    const torn = !text.endsWith('\n');
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      if (torn && i === lines.length - 1) continue;
      const s = splitChained(lines[i]!);
      if (s) return { head: { seq: s.link.seq, hash: s.link.hash }, torn };
    }
    return { head: EMPTY_HEAD, torn };
  } finally {
    closeSync(fd);
  }
}
