// `warden audit verify`: walks the chain through one or more files (oldest first) and names the
// first line that was removed, reordered, inserted or edited; with the checkpoint key it also
// checks every signed checkpoint and that the tail was not cut. Streaming: one line at a time.

import type { KeyObject } from 'node:crypto';
import { GENESIS, chainHash, splitChained, type ChainLink } from './chain.js';
import { checkpointValid } from './checkpoint.js';

export interface VerifyProblem {
  file: string;
  /** 1-based line number in `file`. */
  line: number;
  seq?: number;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  lines: number;
  first_seq?: number;
  last_seq?: number;
  checkpoints: number;
  problem?: VerifyProblem;
}

export interface VerifyOptions {
  /** Ed25519 public key: checkpoints are checked, and a log without them fails. */
  key?: KeyObject;
  /** Accept a first line that continues an earlier file not given (seq > 0). */
  partial?: boolean;
  /** Clock for the cut-tail check (tests). */
  now?: () => number;
}

interface LastCheckpoint {
  at: number;
  reason: string;
  every: number;
  intervalMs: number;
  linesAfter: number;
  file: string;
  line: number;
}

export class ChainVerifier {
  readonly #opts: VerifyOptions;
  #expectSeq = 0;
  #expectPrev = GENESIS;
  #started = false;
  #lines = 0;
  #firstSeq: number | undefined;
  #checkpoints = 0;
  #last: LastCheckpoint | undefined;
  #problem: VerifyProblem | undefined;
  #sinceCheckpoint = 0;

  constructor(opts: VerifyOptions = {}) {
    this.#opts = opts;
  }

  get broken(): boolean {
    return this.#problem !== undefined;
  }

  /** Feed the next line; returns false once the chain is broken (stop reading). */
  push(file: string, lineNo: number, text: string): boolean {
    if (this.#problem) return false;
    const fail = (message: string, seq?: number): false => {
      this.#problem = { file, line: lineNo, ...(seq !== undefined && { seq }), message };
      return false;
    };
    if (text === '') return fail('empty line (inserted, or a line was cut out)');
    const split = splitChained(text);
    if (!split) return fail('no chain field: an inserted line, a torn write, or a line edited at its end');
    const { body, link } = split;
    if (chainHash(link.prev, body) !== link.hash) return fail('edited: its content does not match its hash', link.seq);
    if (!this.#started) {
      this.#started = true;
      this.#firstSeq = link.seq;
      if (link.seq !== 0 && !this.#opts.partial) return fail(`the chain starts at seq ${link.seq}, not 0: the ${link.seq} lines before it are missing (give the rotated files first, oldest first, or --partial)`, link.seq);
      if (link.seq === 0 && link.prev !== GENESIS) return fail('seq 0 does not start from the genesis hash', 0);
    } else if (link.seq === 0 && link.prev === GENESIS) {
      return fail(`a new chain starts here after seq ${this.#expectSeq - 1}: the earlier lines were replaced, or Warden restarted without finding its log (stdout)`, 0);
    } else if (link.seq > this.#expectSeq) {
      return fail(`seq ${link.seq} where ${this.#expectSeq} was expected: ${link.seq - this.#expectSeq === 1 ? 'a line was' : `${link.seq - this.#expectSeq} lines were`} removed (or moved later) before this line`, link.seq);
    } else if (link.seq < this.#expectSeq) {
      return fail(`seq ${link.seq} where ${this.#expectSeq} was expected: a line moved here from earlier, or duplicated`, link.seq);
    } else if (link.prev !== this.#expectPrev) {
      return fail('does not follow the line before it: that line was replaced or rehashed, or this one was inserted', link.seq);
    }
    this.#expectSeq = link.seq + 1;
    this.#expectPrev = link.hash;
    this.#lines++;
    this.#sinceCheckpoint++;
    if (this.#last) this.#last.linesAfter++;
    if (body.includes('"type":"checkpoint"')) return this.#checkpoint(body, link, file, lineNo, fail);
    return true;
  }

  #checkpoint(body: string, link: ChainLink, file: string, lineNo: number, fail: (m: string, seq?: number) => false): boolean {
    let cp: Record<string, unknown>;
    try {
      cp = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return true; // a decision line that merely contains the text; the chain already vouches for it
    }
    if (cp.type !== 'checkpoint') return true;
    const key = this.#opts.key;
    if (!key) return true;
    const seq = link.seq;
    if (!checkpointValid(cp, key)) return fail('checkpoint signature is not valid for this key (forged, edited or another key)', seq);
    if (cp.seq !== seq - 1 || cp.hash !== link.prev) return fail(`the signed checkpoint does not match the chain before it (it signed seq ${String(cp.seq)}): the lines before it were rewritten`, seq);
    // Lines before this checkpoint, itself not counted; a 'start' after a restart may follow fewer.
    if (this.#sinceCheckpoint - 1 > Number(cp.every) && this.#checkpoints > 0) return fail(`${this.#sinceCheckpoint - 1} lines since the previous checkpoint, which come every ${String(cp.every)}: a checkpoint was removed`, seq);
    this.#sinceCheckpoint = 0;
    this.#checkpoints++;
    this.#last = { at: Date.parse(String(cp.timestamp)), reason: String(cp.reason), every: Number(cp.every), intervalMs: Number(cp.interval_ms), linesAfter: 0, file, line: lineNo };
    return true;
  }

  /** The verdict once every line was fed. */
  finish(): VerifyResult {
    const result = (): VerifyResult => ({
      ok: this.#problem === undefined,
      lines: this.#lines,
      ...(this.#firstSeq !== undefined && { first_seq: this.#firstSeq, last_seq: this.#expectSeq - 1 }),
      checkpoints: this.#checkpoints,
      ...(this.#problem && { problem: this.#problem }),
    });
    if (this.#problem || !this.#opts.key) return result();
    const last = this.#last;
    if (!last) {
      this.#problem = { file: '', line: 0, message: 'no signed checkpoint in the log: it cannot be checked against the key (or all were removed)' };
      return result();
    }
    const ended = last.linesAfter === 0 && (last.reason === 'close' || last.reason === 'rotate');
    if (ended) return result();
    if (last.linesAfter > last.every) {
      this.#problem = { file: last.file, line: last.line, message: `${last.linesAfter} lines follow the last checkpoint, which come every ${last.every}: a checkpoint was removed` };
      return result();
    }
    const age = (this.#opts.now ?? Date.now)() - last.at;
    if (age > 2 * last.intervalMs) {
      this.#problem = { file: last.file, line: last.line, message: `the log ends without a closing checkpoint, and the last checkpoint (here, ${Math.round(age / 1000)} s ago) is older than twice its interval: the tail after it was cut, or Warden stopped without closing its log` };
    }
    return result();
  }
}
