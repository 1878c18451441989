// TaskStore and UsageStore on Redis, shared by a fleet. A task is one hash (`<prefix>task:<id>`)
// whose fields hold the record, its revocation and its call counters (`calls`, `s:<stage>`).
// Reads of the record come from a cache that pub/sub keeps fresh (every create, update and
// revocation is published); the counters are read from Redis at most every READ_FRESH_MS per task
// and stage, plus this process's own counts (usage-batch.ts), since a call cap counts across the
// fleet. Nothing is answered from the cache unless the link is confirmed fresh.

import type { TaskUsage } from '../../policy/types.js';
import type { Awaitable } from '../awaitable.js';
import type { TaskPatch, TaskRecord, TaskStore, TaskUser, UsageStore } from '../tasks.js';
import type { StoredTask } from '../transfer.js';
import type { RedisLink } from './link.js';
import { UsageBatch } from './usage-batch.js';

const RECORD_FIELDS = ['agent', 'user', 'stage', 'risk', 'scopes', 'created_at', 'expires_at', 'revoked_at'] as const;

// Revokes once: 1 when this call revoked the task, 0 when unknown or revoked already.
const REVOKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'revoked_at') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1])
return 1`;

// Updates stage and risk of an existing task; 0 when unknown.
const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'stage', ARGV[1]) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'risk', ARGV[2]) end
return 1`;

// KEYS: task, expiry index, agent's task set. ARGV: id, expires_at, then field/value pairs.
// Writes a whole task unless it exists: 1 written, 0 present.
const IMPORT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return 1`;

function freeze(rec: TaskRecord): TaskRecord {
  return Object.freeze({ ...rec, user: Object.freeze({ ...rec.user }), scopes: Object.freeze([...rec.scopes]) });
}

function fromFields(id: string, v: (string | null)[]): TaskRecord | undefined {
  const [agent, user, stage, risk, scopes, created, expires, revoked] = v;
  if (agent == null || user == null || stage == null || risk == null || scopes == null || created == null || expires == null) return undefined;
  return freeze({
    id, agent, user: JSON.parse(user) as TaskUser, stage, risk, scopes: JSON.parse(scopes) as string[],
    created_at: Number(created), expires_at: Number(expires), ...(revoked != null && { revoked_at: Number(revoked) }),
  });
}

export class RedisTaskStore implements TaskStore, UsageStore {
  readonly #link: RedisLink;
  /** Confirmed records (undefined: known not to exist); dropped on a task message and on reconnect. */
  readonly #cache = new Map<string, TaskRecord | undefined>();
  readonly #inflight = new Map<string, Promise<TaskRecord | undefined>>();
  readonly #usage: UsageBatch;
  /** `<prefix>task:`, the start of every task's key. */
  readonly #taskPrefix: string;

  constructor(link: RedisLink) {
    this.#link = link;
    this.#taskPrefix = link.key('task', '');
    this.#usage = new UsageBatch(link.fast);
    link.onMessage((m) => {
      if (m.t === 'task') this.#cache.delete(m.id);
    });
    link.onReset(() => this.#cache.clear());
  }

  #key(id: string): string {
    return this.#taskPrefix + id;
  }

  async create(rec: TaskRecord): Promise<void> {
    const key = this.#key(rec.id);
    const created = await this.#link.run(() => this.#link.cmd.hsetnx(key, 'agent', rec.agent));
    if (created !== 1) throw new Error(`task ${rec.id} exists`);
    await this.#link.run(() => this.#link.cmd.multi()
      .hset(key, {
        user: JSON.stringify(rec.user), stage: rec.stage, risk: rec.risk, scopes: JSON.stringify(rec.scopes),
        created_at: String(rec.created_at), expires_at: String(rec.expires_at), calls: '0',
        ...(rec.revoked_at !== undefined && { revoked_at: String(rec.revoked_at) }),
      })
      .zadd(this.#link.key('tasks', 'expiry'), rec.expires_at, rec.id)
      .sadd(this.#link.key('agent-tasks', rec.agent), rec.id)
      .exec());
    await this.#link.publish({ t: 'task', id: rec.id });
  }

  /** The task with its revocation and counts, unless it exists (`warden store migrate`). */
  async importTask({ record: rec, stageCalls }: StoredTask): Promise<boolean> {
    const fields: Record<string, string> = {
      agent: rec.agent, user: JSON.stringify(rec.user), stage: rec.stage, risk: rec.risk, scopes: JSON.stringify(rec.scopes),
      created_at: String(rec.created_at), expires_at: String(rec.expires_at),
      calls: String(Object.values(stageCalls).reduce((a, b) => a + b, 0)),
      ...Object.fromEntries(Object.entries(stageCalls).map(([stage, n]) => [`s:${stage}`, String(n)])),
      ...(rec.revoked_at !== undefined && { revoked_at: String(rec.revoked_at) }),
    };
    const written = await this.#link.run(() => this.#link.cmd.eval(
      IMPORT, 3, this.#key(rec.id), this.#link.key('tasks', 'expiry'), this.#link.key('agent-tasks', rec.agent),
      rec.id, String(rec.expires_at), ...Object.entries(fields).flat(),
    )) as number;
    if (written === 1) await this.#link.publish({ t: 'task', id: rec.id });
    return written === 1;
  }

  get(id: string): TaskRecord | undefined | Promise<TaskRecord | undefined> {
    this.#link.assertFresh();
    if (this.#cache.has(id)) return this.#cache.get(id);
    let p = this.#inflight.get(id);
    if (!p) {
      p = this.#read(id).finally(() => this.#inflight.delete(id));
      this.#inflight.set(id, p);
    }
    return p;
  }

  async #read(id: string): Promise<TaskRecord | undefined> {
    const values = await this.#link.run(() => this.#link.cmd.hmget(this.#key(id), ...RECORD_FIELDS));
    const rec = fromFields(id, values);
    // A message that arrived while reading may have dropped a newer state: cache only while fresh.
    if (this.#link.fresh()) this.#cache.set(id, rec);
    return rec;
  }

  async update(id: string, patch: TaskPatch): Promise<TaskRecord | undefined> {
    const ok = await this.#link.run(() => this.#link.cmd.eval(UPDATE, 1, this.#key(id), patch.stage ?? '', patch.risk ?? '')) as number;
    if (ok !== 1) return undefined;
    this.#cache.delete(id);
    await this.#link.publish({ t: 'task', id });
    return this.#read(id);
  }

  async revoke(id: string, atMs: number): Promise<boolean> {
    const ok = await this.#link.run(() => this.#link.cmd.eval(REVOKE, 1, this.#key(id), String(atMs))) as number;
    this.#cache.delete(id);
    if (ok === 1) await this.#link.publish({ t: 'task', id });
    return ok === 1;
  }

  async live(nowMs: number): Promise<TaskRecord[]> {
    const ids = await this.#link.run(() => this.#link.cmd.zrangebyscore(this.#link.key('tasks', 'expiry'), `(${nowMs}`, '+inf'));
    const recs = await Promise.all(ids.map((id) => this.#read(id)));
    return recs.filter((r): r is TaskRecord => r !== undefined && r.revoked_at === undefined);
  }

  async purgeExpired(nowMs: number): Promise<number> {
    const expiry = this.#link.key('tasks', 'expiry');
    const ids = await this.#link.run(() => this.#link.cmd.zrangebyscore(expiry, '-inf', `(${nowMs}`));
    if (ids.length === 0) return 0;
    await this.#link.run(() => this.#link.cmd.multi().del(...ids.map((i) => this.#key(i))).zrem(expiry, ...ids).exec());
    for (const id of ids) {
      this.#cache.delete(id);
      this.#usage.forget(this.#key(id));
    }
    return ids.length;
  }

  /** Live (unrevoked, unexpired) task ids of an agent. */
  async tasksOfAgent(agent: string): Promise<string[]> {
    return this.#link.run(() => this.#link.cmd.smembers(this.#link.key('agent-tasks', agent)));
  }

  recordCall(id: string, stage: string): void {
    // Counted atomically in Redis, summed with the other counts of the next COUNT_EVERY_MS, fire and
    // forget: a failed count never fails a forwarded call. Seen at once by this process's reads.
    this.#usage.count(this.#key(id), `s:${stage}`);
  }

  usage(id: string, stage: string): Awaitable<TaskUsage> {
    this.#link.assertFresh();
    return this.#usage.read(this.#key(id), `s:${stage}`);
  }

  close(): void {
    this.#usage.close(); // ahead of the connection's QUIT: a call counted just before close is kept
    this.#cache.clear();
  }
}
