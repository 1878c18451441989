// The request path's call counters on Redis, on the link's request-path connection. The counter
// reads of one turn of the event loop go out at its end in one write, one HMGET per task and stage
// read (requests of the turn reading the same share its reply). Counts are summed per task and
// stage and written every COUNT_EVERY_MS by one script call (EVALSHA): a read is a plain HMGET, and
// redis-server, which fsyncs the AOF (`appendfsync always`) before answering any command of a loop
// iteration that wrote, fsyncs per batch of counts, not per request.
//
// What a read answers: the counts in Redis — every count this process sent before it, since its
// commands keep their order on the connection, and those of other fleet members written by then —
// plus this process's counts not yet sent. So the own sidecar sees a call at once, another sidecar
// within COUNT_EVERY_MS (plus a round trip), and a sidecar that crashes loses at most that window
// of its counts (as the SQLite mode does with its 100 ms batches); what redis-server acknowledged
// is on disk. A task unknown in Redis (never created, or purged) reads 0, pending counts or not.
//
// The script is loaded (SCRIPT LOAD) first thing on every (re)connection, ahead of any count on the
// connection, so a Redis restart (empty script cache) costs no NOSCRIPT round trip nor reorders
// counts. Should the cache be flushed while connected (SCRIPT FLUSH), a batch answered NOSCRIPT is
// sent again as EVAL, behind whatever this process sent meanwhile (should another client have
// loaded the script in that round trip, a read may miss those counts for that round trip). Counts
// made while the connection is down wait for it to return.

import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { WardenError } from '../../errors.js';
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

/** ms between two writes of a process's counts. */
export const COUNT_EVERY_MS = 10;

/** Counts of one task not yet sent: in total, and per stage field. */
interface Pending {
  calls: number;
  readonly stages: Map<string, number>;
}

interface Read {
  readonly promise: Promise<TaskUsage>;
  resolve(u: TaskUsage): void;
  reject(err: unknown): void;
}

/** The usage of a task Redis does not hold. */
const NONE: TaskUsage = Object.freeze({ calls: 0, stage_calls: 0 });

function newRead(): Read {
  let resolve!: (u: TaskUsage) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<TaskUsage>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export class UsageBatch {
  readonly #redis: Redis;
  /** Task key → counts not yet sent. */
  #pending = new Map<string, Pending>();
  /** Task key → stage field → the read waiting for this turn's reply. */
  #reads = new Map<string, Map<string, Read>>();
  #scheduled: NodeJS.Immediate | undefined;
  #countTimer: NodeJS.Timeout | undefined;
  readonly #countEveryMs: number;
  #closed = false;

  constructor(redis: Redis, countEveryMs = COUNT_EVERY_MS) {
    this.#redis = redis;
    this.#countEveryMs = countEveryMs;
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
    if (!this.#countTimer) {
      this.#countTimer = setTimeout(this.#sendCounts, this.#countEveryMs);
      this.#countTimer.unref();
    }
  }

  /** The task's (key) calls and its stage's (field), frozen; rejects with STORE_UNAVAILABLE. */
  read(key: string, field: string): Promise<TaskUsage> {
    let fields = this.#reads.get(key);
    if (!fields) this.#reads.set(key, (fields = new Map()));
    let r = fields.get(field);
    if (!r) {
      fields.set(field, (r = newRead()));
      this.#scheduled ??= setImmediate(this.#sendReads);
    }
    return r.promise;
  }

  /** Drops the unsent counts of a task (purged: they would be dropped by Redis anyway). */
  forget(key: string): void {
    this.#pending.delete(key);
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

  #send(withCounts: boolean): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const counts = withCounts ? this.#takeCounts() : undefined;
    const reads = this.#reads;
    if (!counts && reads.size === 0) return;
    this.#reads = new Map();
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
      for (const [key, fields] of reads) {
        const p = this.#pending.get(key);
        for (const [field, r] of fields) this.#read(key, field, r, p?.calls ?? 0, p?.stages.get(field) ?? 0);
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

  /** One HMGET: the counts in Redis, plus those of this process it cannot see yet (unsent). */
  #read(key: string, field: string, r: Read, unsentCalls: number, unsentStage: number): void {
    this.#redis.hmget(key, 'calls', field).then(([calls, stage]) => {
      r.resolve(calls == null ? NONE : Object.freeze({ calls: Number(calls) + unsentCalls, stage_calls: Number(stage ?? 0) + unsentStage }));
    }, (err: unknown) => r.reject(new WardenError('STORE_UNAVAILABLE', undefined, { cause: err })));
  }
}
