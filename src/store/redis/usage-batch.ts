// The request path's call counters on Redis: every count and counter read of one turn of the event
// loop goes out as one script call (EVALSHA) on the link's request-path connection, instead of a
// count script and an HMGET per request. Counts of a task and stage in the turn are summed; reads
// of a task and stage share one reply. The script applies the counts before the reads, so a read
// sees every call counted before it on this connection (earlier turns are ahead of it on the same
// connection; counts of the same turn come first in the script) — and, at most, calls counted
// while it was in flight, which is a valid order for requests that overlap.
//
// The script is loaded (SCRIPT LOAD) first thing on every (re)connection, ahead of any batch on the
// connection, so a Redis restart (empty script cache) costs no NOSCRIPT round trip nor reorders
// counts. Should the cache be flushed while connected (SCRIPT FLUSH), a batch answered NOSCRIPT is
// sent again as EVAL.

import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { WardenError } from '../../errors.js';
import type { TaskUsage } from '../../policy/types.js';

// KEYS: the tasks counted (C of them), then the tasks read. ARGV[1]: C; then per count its stage
// field and how many calls; then per read its stage field. Counts only a task that exists (a count
// landing after its task was purged must not bring back a hash that nothing deletes). Returns, per
// read, the task's calls and the stage's calls.
const SCRIPT = `
local c = tonumber(ARGV[1])
for k = 1, c do
  local key = KEYS[k]
  if redis.call('EXISTS', key) == 1 then
    local n = tonumber(ARGV[2 * k + 1])
    redis.call('HINCRBY', key, 'calls', n)
    redis.call('HINCRBY', key, ARGV[2 * k], n)
  end
end
local out = {}
local a = 2 * c + 1
for k = c + 1, #KEYS do
  local v = redis.call('HMGET', KEYS[k], 'calls', ARGV[a + k - c])
  out[#out + 1] = tonumber(v[1]) or 0
  out[#out + 1] = tonumber(v[2]) or 0
end
return out`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

interface Read {
  readonly promise: Promise<TaskUsage>;
  resolve(u: TaskUsage): void;
  reject(err: unknown): void;
}

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
  /** Task key → stage field → calls to count. */
  #counts = new Map<string, Map<string, number>>();
  /** Task key → stage field → the read waiting for this turn's reply. */
  #reads = new Map<string, Map<string, Read>>();
  #scheduled: NodeJS.Immediate | undefined;

  constructor(redis: Redis) {
    this.#redis = redis;
    const load = (): void => void redis.script('LOAD', SCRIPT).catch(() => undefined);
    if (redis.status === 'ready') load();
    redis.on('ready', load);
  }

  /** Counts one call of the task (key) in a stage (field); fire and forget. */
  count(key: string, field: string): void {
    let fields = this.#counts.get(key);
    if (!fields) this.#counts.set(key, (fields = new Map()));
    fields.set(field, (fields.get(field) ?? 0) + 1);
    this.#schedule();
  }

  /** The task's (key) calls and its stage's (field), frozen; rejects with STORE_UNAVAILABLE. */
  read(key: string, field: string): Promise<TaskUsage> {
    let fields = this.#reads.get(key);
    if (!fields) this.#reads.set(key, (fields = new Map()));
    let r = fields.get(field);
    if (!r) {
      fields.set(field, (r = newRead()));
      this.#schedule();
    }
    return r.promise;
  }

  #schedule(): void {
    this.#scheduled ??= setImmediate(this.flush);
  }

  /** Sends what this turn holds now (also before the connection closes). */
  readonly flush = (): void => {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const counts = this.#counts;
    const reads = this.#reads;
    if (counts.size === 0 && reads.size === 0) return;
    this.#counts = new Map();
    this.#reads = new Map();
    const keys: (string | number)[] = [];
    const argv: (string | number)[] = [0];
    for (const [key, fields] of counts) {
      for (const [field, n] of fields) {
        keys.push(key);
        argv.push(field, n);
      }
    }
    argv[0] = keys.length;
    const waiting: Read[] = [];
    for (const [key, fields] of reads) {
      for (const [field, r] of fields) {
        keys.push(key);
        argv.push(field);
        waiting.push(r);
      }
    }
    const command = [SHA, keys.length].concat(keys, argv);
    const sent = this.#redis.call('EVALSHA', command).catch((err: unknown) => {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      command[0] = SCRIPT;
      return this.#redis.call('EVAL', command);
    });
    if (waiting.length === 0) {
      sent.catch(() => undefined); // a failed count never fails a forwarded call
      return;
    }
    sent.then((out) => {
      const v = out as number[];
      for (let i = 0; i < waiting.length; i++) waiting[i]!.resolve(Object.freeze({ calls: v[2 * i]!, stage_calls: v[2 * i + 1]! }));
    }, (err: unknown) => {
      for (const r of waiting) r.reject(new WardenError('STORE_UNAVAILABLE', undefined, { cause: err }));
    });
  };
}
