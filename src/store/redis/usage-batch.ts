// The request path's call counters on Redis, on the link's request-path connection. Counts are
// summed per task and stage and written every COUNT_EVERY_MS by one script call (EVALSHA). A read
// of a task's counters is kept READ_FRESH_MS: within that time the requests of the task and stage
// are answered from memory; after it, the next one sends one HMGET at the end of the turn, which
// the requests of that turn share. So a request runs no Lua script, most requests send nothing, and
// redis-server (which fsyncs the AOF, `appendfsync always`, before answering any command of a loop
// iteration that wrote) fsyncs per batch of counts, not per request.
//
// What a read answers: the counts in Redis when it was read — every count this process sent before
// it, since its commands keep their order on the connection, and those of other fleet members
// written by then — plus every count this process made and Redis did not hold then (unsent, or
// made since). So the own sidecar sees a call at once, another sidecar within COUNT_EVERY_MS +
// READ_FRESH_MS (plus a round trip), and a sidecar that crashes loses at most its last
// COUNT_EVERY_MS of counts (as the SQLite mode does with its 100 ms batches); what redis-server
// acknowledged is on disk. A task unknown in Redis (never created, or purged) reads 0.
//
// The script is loaded (SCRIPT LOAD) first thing on every (re)connection, ahead of any count on the
// connection, so a Redis restart (empty script cache) costs no NOSCRIPT round trip nor reorders
// counts. Should the cache be flushed while connected (SCRIPT FLUSH), a batch answered NOSCRIPT is
// sent again as EVAL, behind whatever this process sent meanwhile (should another client have
// loaded the script in that round trip, a read may miss those counts for that round trip). Counts
// made while the connection is down wait for it to return.

import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { asStoreUnavailable } from './link.js';
import type { TaskUsage } from '../../policy/types.js';

// KEYS: the tasks counted; ARGV: per task its stage field and how many calls. Counts only a task
// that exists (a count landing after its task was purged must not bring back a hash that nothing
// deletes).
const SCRIPT = `
for k = 1, #KEYS do
  if redis.call('EXISTS', KEYS[k]) == 1 then
    redis.call('HINCRBY', KEYS[k], 'calls', ARGV[2 * k])
    redis.call('HINCRBY', KEYS[k], ARGV[2 * k - 1], ARGV[2 * k])
  end
end
return 0`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

/**
 * ms between two writes of a process's counts. Each write costs redis-server an fsync (about 0.1 ms
 * of CPU on the benchmark's disk): every 10 ms that was 30 ms of its CPU a second under load.
 */
export const COUNT_EVERY_MS = 50;
/** ms a read of a task's counters is used for, plus the process's own counts since. */
export const READ_FRESH_MS = 10;
/** Tasks whose reads are kept before the stale ones are dropped (memory bound). */
const MAX_READS = 10_000;

/** Counts of one task not yet sent: in total, and per stage field. */
interface Pending {
  calls: number;
  readonly stages: Map<string, number>;
}

/** A read of a task's counters (`calls`, and one stage's), then the process's own counts Redis did not hold. */
interface Read {
  /** When it was sent (now()). */
  readonly at: number;
  /** Undefined while in flight; null: Redis holds no such task. */
  got: { readonly calls: number; readonly stage: number } | null | undefined;
  /** While in flight: the requests waiting for it. */
  promise: Promise<TaskUsage> | undefined;
  /** Counts of this process Redis did not hold when it answered (set when the read is sent). */
  ownCalls: number;
  ownStage: number;
  /** usageOf() until the next own count. */
  usage: TaskUsage | undefined;
}

/** The usage of a task Redis does not hold. */
const NONE: TaskUsage = Object.freeze({ calls: 0, stage_calls: 0 });

function usageOf(r: Read): TaskUsage {
  if (!r.got) return NONE;
  return (r.usage ??= Object.freeze({ calls: r.got.calls + r.ownCalls, stage_calls: r.got.stage + r.ownStage }));
}

export interface UsageBatchOptions {
  readonly countEveryMs?: number;
  readonly readFreshMs?: number;
  readonly now?: () => number;
}

export class UsageBatch {
  readonly #redis: Redis;
  /** Task key → counts not yet sent. */
  #pending = new Map<string, Pending>();
  /** Task key → stage field → the last read. */
  readonly #reads = new Map<string, Map<string, Read>>();
  /** Reads to send at the end of this turn. */
  #toSend: [key: string, field: string, read: Read, resolve: (u: TaskUsage) => void, reject: (err: unknown) => void][] = [];
  #scheduled: NodeJS.Immediate | undefined;
  #countTimer: NodeJS.Timeout | undefined;
  readonly #countEveryMs: number;
  readonly #readFreshMs: number;
  readonly #now: () => number;
  #closed = false;

  constructor(redis: Redis, opts: UsageBatchOptions = {}) {
    this.#redis = redis;
    this.#countEveryMs = opts.countEveryMs ?? COUNT_EVERY_MS;
    this.#readFreshMs = opts.readFreshMs ?? READ_FRESH_MS;
    this.#now = opts.now ?? Date.now;
    const load = (): void => void redis.script('LOAD', SCRIPT).catch(() => undefined);
    if (redis.status === 'ready') load();
    redis.on('ready', load);
  }

  /** Counts one call of the task (key) in a stage (field); fire and forget. */
  count(key: string, field: string): void {
    let p = this.#pending.get(key);
    if (!p) this.#pending.set(key, (p = { calls: 0, stages: new Map() }));
    p.calls += 1;
    p.stages.set(field, (p.stages.get(field) ?? 0) + 1);
    // Reads sent before this count do not hold it.
    const reads = this.#reads.get(key);
    if (reads) {
      for (const [f, r] of reads) {
        r.ownCalls += 1;
        if (f === field) r.ownStage += 1;
        r.usage = undefined;
      }
    }
    if (!this.#countTimer) {
      this.#countTimer = setTimeout(this.#sendCounts, this.#countEveryMs);
      this.#countTimer.unref();
    }
  }

  /** The task's (key) calls and its stage's (field), frozen; rejects with STORE_UNAVAILABLE. */
  read(key: string, field: string): TaskUsage | Promise<TaskUsage> {
    const last = this.#reads.get(key)?.get(field);
    if (last && this.#now() - last.at <= this.#readFreshMs) return last.promise ?? usageOf(last);
    if (this.#reads.size >= MAX_READS) this.#dropStale();
    let fields = this.#reads.get(key);
    if (!fields) this.#reads.set(key, (fields = new Map()));
    const r: Read = { at: this.#now(), got: undefined, promise: undefined, ownCalls: 0, ownStage: 0, usage: undefined };
    r.promise = new Promise<TaskUsage>((resolve, reject) => void this.#toSend.push([key, field, r, resolve, reject]));
    fields.set(field, r);
    this.#scheduled ??= setImmediate(this.#sendReads);
    return r.promise;
  }

  /** Drops the unsent counts and the reads of a task (purged: Redis drops its counts too). */
  forget(key: string): void {
    this.#pending.delete(key);
    this.#reads.delete(key);
  }

  /** Sends the counts not yet sent and this turn's reads now. */
  flush(): void {
    this.#send(true);
  }

  /** Flushes, ahead of the connection's QUIT: a call counted just before close is kept. */
  close(): void {
    this.#closed = true;
    this.flush();
  }

  readonly #sendReads = (): void => this.#send(false);
  readonly #sendCounts = (): void => this.#send(true);

  #dropStale(): void {
    const now = this.#now();
    for (const [key, fields] of this.#reads) {
      for (const [field, r] of fields) if (r.promise === undefined && now - r.at > this.#readFreshMs) fields.delete(field);
      if (fields.size === 0) this.#reads.delete(key);
    }
  }

  #send(withCounts: boolean): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const counts = withCounts ? this.#takeCounts() : undefined;
    const toSend = this.#toSend;
    if (!counts && toSend.length === 0) return;
    this.#toSend = [];
    // The commands of this call leave in one write.
    const stream = this.#redis.stream as Redis['stream'] | undefined;
    stream?.cork();
    try {
      if (counts) {
        this.#redis.call('EVALSHA', counts).catch((err: unknown) => {
          if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
          counts[0] = SCRIPT;
          return this.#redis.call('EVAL', counts);
        }).catch(() => undefined); // a failed count never fails a forwarded call
      }
      for (const [key, field, r, resolve, reject] of toSend) {
        // What Redis will not hold when it answers: the counts not sent yet (then those made since).
        const p = this.#pending.get(key);
        r.ownCalls = p?.calls ?? 0;
        r.ownStage = p?.stages.get(field) ?? 0;
        this.#redis.hmget(key, 'calls', field).then(([calls, stage]) => {
          r.got = calls == null ? null : { calls: Number(calls), stage: Number(stage ?? 0) };
          r.promise = undefined;
          r.usage = undefined;
          resolve(usageOf(r));
        }, (err: unknown) => {
          // Not kept: the next request reads again.
          if (this.#reads.get(key)?.get(field) === r) this.#reads.get(key)!.delete(field);
          reject(asStoreUnavailable(err));
        });
      }
    } finally {
      stream?.uncork();
    }
  }

  /** The EVALSHA command of the counts not yet sent (which are then sent), or undefined. */
  #takeCounts(): (string | number)[] | undefined {
    clearTimeout(this.#countTimer);
    this.#countTimer = undefined;
    if (this.#pending.size === 0) return undefined;
    if (this.#redis.status !== 'ready') {
      // Not connected (Redis down, reconnecting): the counts wait for the connection to return.
      if (!this.#closed) {
        this.#countTimer = setTimeout(this.#sendCounts, this.#countEveryMs);
        this.#countTimer.unref();
      }
      return undefined;
    }
    const keys: string[] = [];
    const argv: (string | number)[] = [];
    for (const [key, p] of this.#pending) {
      for (const [field, n] of p.stages) {
        keys.push(key);
        argv.push(field, n);
      }
    }
    this.#pending = new Map();
    return [SHA, keys.length, ...keys, ...argv];
  }
}
