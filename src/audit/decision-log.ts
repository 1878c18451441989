// The decision log: one JSON line per request on every path (pino's destination), with OPA's
// decision-log field names where they exist (decision_id, timestamp, path, input, result, bundles, metrics) plus
// Warden's own. Lifecycle events (tasks, approvals, bundle loads) go to the same stream with an
// `event` field. Secrets never reach it: the input has no credentials by construction and lanes
// are logged by name. Every line is linked into a hash chain (chain.ts), optionally with signed
// checkpoints (checkpoint.ts); reopen() follows logrotate's rename-then-signal.

import { Buffer } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { WardenError } from '../errors.js';
import { withRoom } from '../grow-buffer.js';
import { Chain, PREV_BYTES, readChainHead } from './chain.js';
import { checkpointLine, type CheckpointReason } from './checkpoint.js';
import { applyMasks, compileMasks, type MaskPath } from './mask.js';
import { isoTimeFormatter } from '../iso-time.js';
// Policy results (src/policy/engine.ts) and static lanes' credential entries
// (src/credentials/lanes.ts) are shared, frozen objects: each is serialized once.
import { frozenJson } from '../frozen-json.js';

export interface DecisionRecord {
  decision_id: string;
  path: string;
  input?: unknown;
  /** `input` as the policy received it, serialized; reused when nothing is masked. */
  input_json?: string;
  result?: unknown;
  revision?: string;
  outcome: 'allow' | 'deny' | 'step_up' | 'error' | 'client_abort' | 'dry_run';
  error?: string;
  agent?: string;
  task?: string;
  stage?: string;
  lane?: string;
  /** Which credential was injected: an identifier, never the value. */
  credential?: { lane: string; kind: string; id: string };
  approval?: string;
  upstream?: string;
  method?: string;
  status: number;
  upstream_status?: number;
  duration_ms: number;
  eval_ns?: number;
  /** Tools a `tools/list` result listed that the policy hid from the agent. */
  mcp_hidden_tools?: string[];
}

export interface DecisionLogOptions {
  readonly path: string;
  readonly mask: readonly string[];
  /** Called when lines could not be written (disk full, closed pipe). */
  readonly onError?: (err: unknown) => void;
  /** Larger request bodies are logged as TRUNCATED: a refused 3 MiB input must not cost 3 MiB of log. */
  readonly maxBodyBytes: number;
  /**
   * Also hands each decision line to a collector client, as written (chain included, no newline):
   * its UTF-8 bytes in `line` from `from` to `to`, valid only during the call. Must not block.
   */
  readonly ship?: (line: Buffer, from: number, to: number) => void;
  /** Signed checkpoints: every `every` lines, every `intervalMs`, at start, rotation and close. */
  readonly checkpoints?: { readonly every: number; readonly intervalMs: number; readonly key: KeyObject };
}

export const TRUNCATED = '**TRUNCATED**';

/**
 * Queued lines are appended together at most this long after the first of them, or at once when
 * they reach FLUSH_BYTES: at a few thousand requests a second one write serves tens of lines
 * instead of the one or two of an event-loop turn (a write costs 10-20 µs of CPU on the benchmark
 * host; bench/HISTORY.md, seventh session).
 */
const FLUSH_MS = 5;
const FLUSH_BYTES = 256 * 1024;
/**
 * Lines are encoded once into bytes (hashed there, queued there, written from there): no string
 * copies of a line for the hash, the batch and the write. A buffer that a huge line grew past this
 * is given back after the write.
 */
const KEEP_BYTES = 4 * FLUSH_BYTES;
/** Sizes the queue and a line's scratch buffer start at (and return to): a flush's worth and a typical line. */
const OUT_BYTES = FLUSH_BYTES + 16 * 1024;
const SCRATCH_BYTES = 16 * 1024;
/** How long a write that the pipe refused for now (EAGAIN: stdout to a slow reader) waits before it tries again. */
const EAGAIN_WAIT_MS = 10;
const eagainWait = new Int32Array(new SharedArrayBuffer(4));

const str = (s: string): string => JSON.stringify(s);
/**
 * The JSON of a string that repeats from line to line (path, outcome, method, upstream, agent,
 * task, stage, lane, approval, error), made once: a lookup costs 20 ns where JSON.stringify of a
 * short string costs 170 (bench/HISTORY.md, seventh session). Bounded: past 4096 it starts over.
 */
const repeatedJson = new Map<string, string>();
function rstr(s: string): string {
  let json = repeatedJson.get(s);
  if (json === undefined) {
    if (repeatedJson.size >= 4096) repeatedJson.clear();
    repeatedJson.set(s, (json = JSON.stringify(s)));
  }
  return json;
}
/** A number as JSON.stringify writes it (null when not finite). */
const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');
function openLogFile(path: string): number {
  try {
    mkdirSync(dirname(path), { recursive: true });
    return openSync(path, 'a', 0o640);
  } catch (err) {
    throw new WardenError('CONFIG_INVALID', `decision_log.path: cannot open ${path} for appending`, { cause: err });
  }
}

export class DecisionLog {
  /** The bytes of the lines queued since the last write, written together in one append (FLUSH_MS). */
  #out: Buffer = Buffer.allocUnsafe(OUT_BYTES);
  #outLen = 0;
  /** One line being linked: the previous hash, then the line's bytes (Chain.linkBytes). */
  #scratch: Buffer = Buffer.allocUnsafe(SCRATCH_BYTES);
  #scheduled = false;
  readonly #onError: (err: unknown) => void;
  /** The log's file descriptor (1 or 2 for stdout and stderr); -1 once closed. */
  #fd: number;
  readonly #path: string;
  readonly #masks: MaskPath[];
  readonly #toStd: boolean;
  readonly #maxBody: number;
  readonly #ship: DecisionLogOptions['ship'];
  readonly #chain: Chain;
  readonly #checkpoints: DecisionLogOptions['checkpoints'];
  #lastCheckpoint: number;
  #timer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;

  constructor(opts: DecisionLogOptions) {
    this.#path = opts.path;
    this.#toStd = opts.path === 'stdout' || opts.path === 'stderr';
    this.#onError = opts.onError ?? (() => undefined);
    // A restarted Warden continues the chain where the file ends (stdout starts a new chain).
    const tail = this.#toStd ? undefined : readChainHead(opts.path);
    this.#chain = new Chain(tail?.head);
    this.#lastCheckpoint = this.#chain.head.seq;
    // The file is opened here, synchronously, so a log that cannot be written stops the start
    // instead of the first request.
    this.#fd = this.#open();
    // A crash mid-write left half a line: start on a fresh one (verify names the torn line).
    if (tail?.torn) {
      this.#out[this.#outLen++] = 0x0a;
      this.flush();
    }
    this.#masks = compileMasks(opts.mask);
    this.#maxBody = opts.maxBodyBytes;
    this.#ship = opts.ship;
    this.#checkpoints = opts.checkpoints;
    if (this.#checkpoints) {
      this.#checkpoint('start');
      this.#timer = setInterval(() => this.#checkpoint('interval'), this.#checkpoints.intervalMs);
      this.#timer.unref();
    }
  }

  // Synchronous appends: measured cheaper in CPU than sonic-boom's asynchronous writes (8 vs
  // 11 µs a line), a slow disk cannot grow the heap, and lines land in the order they were
  // written. Lines are held at most FLUSH_MS (a crash loses at most those) and go out together.
  #open(): number {
    return this.#path === 'stdout' ? 1 : this.#path === 'stderr' ? 2 : openLogFile(this.#path);
  }

  /** The chain head: seq and hash of the last line queued. */
  get head(): { seq: number; hash: string } {
    return this.#chain.head;
  }

  #bounded(input: unknown): unknown {
    const req = (input as { request?: { size?: unknown; body?: unknown } } | null)?.request;
    if (!req || typeof req.size !== 'number' || req.size <= this.#maxBody || req.body === null) return input;
    return { ...(input as object), request: { ...req, body: TRUNCATED } };
  }

  /** The input as logged: the evaluated JSON itself unless masking or truncation changes it. */
  #inputJson(input: unknown, json: string | undefined): string {
    const logged = applyMasks(this.#bounded(input), this.#masks);
    return logged === input && json !== undefined ? json : JSON.stringify(logged);
  }

  decision(rec: DecisionRecord): void {
    // Written field by field (what JSON.stringify of the record would give, in a fixed order):
    // the parts that repeat from request to request (the policy's result, the bundle revision,
    // the timestamp up to its second, the repeating strings: rstr) are serialized once.
    let line = `{"timestamp":"${this.#iso(Date.now())}","type":"decision","decision_id":${str(rec.decision_id)},"path":${rstr(rec.path)},"outcome":${rstr(rec.outcome)},"status":${num(rec.status)},"duration_ms":${num(rec.duration_ms)}`;
    if (rec.method !== undefined) line += `,"method":${rstr(rec.method)}`;
    if (rec.upstream !== undefined) line += `,"upstream":${rstr(rec.upstream)}`;
    if (rec.agent !== undefined) line += `,"agent":${rstr(rec.agent)}`;
    if (rec.task !== undefined) line += `,"task":${rstr(rec.task)}`;
    if (rec.stage !== undefined) line += `,"stage":${rstr(rec.stage)}`;
    if (rec.result !== undefined) line += `,"result":${frozenJson(rec.result)}`;
    if (rec.approval !== undefined) line += `,"approval":${rstr(rec.approval)}`;
    if (rec.lane !== undefined) line += `,"lane":${rstr(rec.lane)}`;
    if (rec.credential !== undefined) line += `,"credential":${frozenJson(rec.credential)}`;
    if (rec.upstream_status !== undefined) line += `,"upstream_status":${num(rec.upstream_status)}`;
    if (rec.mcp_hidden_tools !== undefined) line += `,"mcp_hidden_tools":${JSON.stringify(rec.mcp_hidden_tools)}`;
    if (rec.error !== undefined) line += `,"error":${rstr(rec.error)}`;
    if (rec.revision !== undefined) line += `,"bundles":${this.#bundles(rec.revision)}`;
    if (rec.eval_ns !== undefined) line += `,"metrics":{"timer_rego_eval_ns":${num(rec.eval_ns)}}`;
    // The input is the largest field and was serialized once already for the policy: splice it
    // in rather than serialize it again.
    if (rec.input !== undefined) line += `,"input":${this.#inputJson(rec.input, rec.input_json)}`;
    const from = this.#outLen;
    this.#append(`${line}}`);
    // Before anything else can be queued or the queue written: the line is the last of the queue.
    this.#ship?.(this.#out, from, this.#outLen - 1);
    this.#queued();
  }

  /** The time as ISO text, formatted once per millisecond. */
  readonly #iso = isoTimeFormatter();

  #revision: string | undefined;
  #revisionJson = '';

  /** `bundles` of the line: serialized again only when the revision changes. */
  #bundles(revision: string): string {
    if (revision !== this.#revision) {
      this.#revision = revision;
      this.#revisionJson = JSON.stringify({ warden: { revision } });
    }
    return this.#revisionJson;
  }

  /** A lifecycle event: task.created, approval.approved, bundle.loaded, ... */
  event(name: string, fields: Record<string, unknown>): void {
    this.#queue(JSON.stringify({ timestamp: new Date().toISOString(), type: 'event', event: name, ...fields }));
  }

  /** Links the line into the chain and queues it. */
  #queue(line: string): void {
    this.#append(line);
    this.#queued();
  }

  /** After a line was queued: the checkpoint it may be due for, and the write. */
  #queued(): void {
    if (this.#checkpoints && this.#chain.head.seq - this.#lastCheckpoint >= this.#checkpoints.every) this.#checkpoint('every');
    this.#schedule();
  }

  /**
   * Encodes one line, links it and adds its bytes to the queue. As written, the line is `line`
   * without its closing brace, then its chain field (Chain.linkBytes), then a newline.
   */
  #append(line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const scratch = (this.#scratch = withRoom(this.#scratch, 0, PREV_BYTES + 3 * line.length));
    const end = PREV_BYTES + scratch.write(line, PREV_BYTES);
    const field = this.#chain.linkBytes(scratch, end);
    const bodyBytes = end - PREV_BYTES - 1;
    const out = (this.#out = withRoom(this.#out, this.#outLen, bodyBytes + field.length + 1));
    this.#outLen += scratch.copy(out, this.#outLen, PREV_BYTES, end - 1);
    this.#outLen += out.write(field, this.#outLen, 'latin1');
    out[this.#outLen++] = 0x0a;
  }

  #schedule(): void {
    if (this.#outLen >= FLUSH_BYTES) return this.flush();
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(this.#flushLater, FLUSH_MS);
  }

  readonly #flushLater = (): void => this.flush();

  #checkpoint(reason: CheckpointReason): void {
    const cp = this.#checkpoints;
    if (!cp) return;
    this.#append(checkpointLine(this.#chain.head, reason, cp));
    this.#lastCheckpoint = this.#chain.head.seq;
    this.#schedule();
  }

  /** Write every queued line now. */
  flush(): void {
    this.#scheduled = false;
    if (this.#outLen === 0) return;
    if (this.#fd === -1) {
      // Lines after close() have nowhere to go: reported, not kept.
      this.#outLen = 0;
      this.#onError(new Error('decision log closed: lines after close() are not written'));
      return;
    }
    const out = this.#out;
    let at = 0;
    while (at < this.#outLen) {
      try {
        at += writeSync(this.#fd, out, at, this.#outLen - at);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(eagainWait, 0, 0, EAGAIN_WAIT_MS);
          continue;
        }
        // A full disk must not take the proxy down: the failure is counted and reported, and
        // what was not written stays queued for the next write.
        this.#onError(err);
        break;
      }
    }
    if (at < this.#outLen) out.copy(out, 0, at, this.#outLen);
    this.#outLen -= at;
    if (this.#outLen === 0 && out.length > KEEP_BYTES) this.#out = Buffer.allocUnsafe(OUT_BYTES);
    if (this.#scratch.length > KEEP_BYTES) this.#scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  }

  /**
   * Close the file and open its path again (logrotate renames the file, then signals): the old
   * file ends with a rotation checkpoint, the new one continues the same chain.
   */
  reopen(): void {
    if (this.#toStd) return;
    this.#checkpoint('rotate');
    this.flush();
    const old = this.#fd;
    try {
      this.#fd = this.#open();
    } catch (err) {
      // Cannot open the path (directory gone): keep writing to the old file rather than losing lines.
      this.#onError(err);
      return;
    }
    this.#closeFile(old);
  }

  #closeFile(fd: number): void {
    try {
      fsyncSync(fd);
      closeSync(fd);
    } catch (err) {
      this.#onError(err);
    }
  }

  /** Flush and close; resolves once every line is written. */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    clearInterval(this.#timer);
    this.#checkpoint('close');
    this.flush();
    if (!this.#toStd) this.#closeFile(this.#fd);
    this.#fd = -1;
    return (this.#closed = Promise.resolve());
  }
}
