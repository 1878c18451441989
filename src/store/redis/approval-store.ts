// ApprovalStore on Redis, shared by a fleet. An approval is a hash (`<prefix>approval:<id>`):
// `doc` holds what never changes (JSON), the other fields its state. Every state change is one
// Lua script, so find-or-insert, decide and consume are atomic across every sidecar: twenty
// identical calls on three sidecars create one approval and spend it once.

import type { Approval, ApprovalStatus, ApprovalStore, DecideResult, NewApproval } from '../approvals.js';
import type { RedisLink } from './link.js';

const STATE_FIELDS = ['doc', 'status', 'approver', 'decision_reason', 'decided_at', 'used_at'] as const;

// KEYS: digest index. ARGV: now, approval key prefix. The newest live approval id of the digest.
const FIND_LIVE = `
local ids = redis.call('ZREVRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  local st = redis.call('HMGET', ARGV[2] .. id, 'status', 'expires_at')
  if st[1] and (st[1] == 'pending' or st[1] == 'approved' or st[1] == 'denied') and tonumber(st[2]) > tonumber(ARGV[1]) then
    return id
  end
end
return false`;

// KEYS: digest index, all index, live index, task index. ARGV: now, approval key prefix, id,
// created_at, expires_at, task id, doc. Returns {created, id}.
const FIND_OR_INSERT = `
local function live()
${FIND_LIVE.replace('return false', 'return nil')}
end
local found = live()
if found then return {0, found} end
redis.call('HSET', ARGV[2] .. ARGV[3], 'doc', ARGV[7], 'status', 'pending', 'expires_at', ARGV[5], 'task_id', ARGV[6])
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
return {1, ARGV[3]}`;

// KEYS: approval. ARGV: status, approver, reason, now. 1 changed, 0 not pending, -1 unknown.
const DECIDE = `
local st = redis.call('HMGET', KEYS[1], 'status', 'expires_at')
if not st[1] then return -1 end
if st[1] ~= 'pending' or tonumber(st[2]) <= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'approver', ARGV[2], 'decided_at', ARGV[4])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'decision_reason', ARGV[3]) end
return 1`;

// KEYS: approval, live index. ARGV: now, id.
const CONSUME = `
local st = redis.call('HMGET', KEYS[1], 'status', 'expires_at')
if st[1] ~= 'approved' or tonumber(st[2]) <= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'status', 'used', 'used_at', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1`;

// KEYS: task index, live index. ARGV: now, approval key prefix. Cancelled ids.
const CANCEL_FOR_TASK = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local st = redis.call('HGET', ARGV[2] .. id, 'status')
  if st == 'pending' or st == 'approved' then
    redis.call('HSET', ARGV[2] .. id, 'status', 'cancelled', 'decided_at', ARGV[1])
    redis.call('ZREM', KEYS[2], id)
    table.insert(out, id)
  end
end
return out`;

// KEYS: live index. ARGV: now, approval key prefix. Expired ids (denials keep their status).
const EXPIRE = `
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  local st = redis.call('HGET', ARGV[2] .. id, 'status')
  if st == 'pending' or st == 'approved' then
    redis.call('HSET', ARGV[2] .. id, 'status', 'expired')
    table.insert(out, id)
  end
  redis.call('ZREM', KEYS[1], id)
end
return out`;

// KEYS: approval, digest index, all index, live index, task index. ARGV: id, created_at,
// expires_at, live (1/0), then field/value pairs. Writes a whole approval unless it exists.
const IMPORT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
if ARGV[4] == '1' then redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1]) end
redis.call('SADD', KEYS[5], ARGV[1])
return 1`;

type StoredDoc = Omit<Approval, 'status' | 'approver' | 'decision_reason' | 'decided_at' | 'used_at'>;

const num = (v: string | null): number | null => (v == null ? null : Number(v));

export class RedisApprovalStore implements ApprovalStore {
  readonly #link: RedisLink;

  constructor(link: RedisLink) {
    this.#link = link;
  }

  #k(id: string): string {
    return this.#link.key('approval', id);
  }

  get #prefix(): string {
    return this.#link.key('approval', '');
  }

  async get(id: string): Promise<Approval | undefined> {
    const v = await this.#link.run(() => this.#link.cmd.hmget(this.#k(id), ...STATE_FIELDS));
    const [doc, status, approver, reason, decidedAt, usedAt] = v;
    if (doc == null || status == null) return undefined;
    const d = JSON.parse(doc) as StoredDoc;
    return { ...d, detail: d.detail ?? null, status: status as ApprovalStatus, approver: approver ?? null, decision_reason: reason ?? null, decided_at: num(decidedAt ?? null), used_at: num(usedAt ?? null) };
  }

  /** The approval in its state, unless it exists (`warden store migrate`). */
  async importApproval(a: Approval): Promise<boolean> {
    const { status, approver, decision_reason, decided_at, used_at, ...doc } = a;
    const fields: Record<string, string> = {
      doc: JSON.stringify(doc satisfies StoredDoc), status, expires_at: String(a.expires_at), task_id: a.task_id ?? '',
      ...(approver !== null && { approver }), ...(decision_reason !== null && { decision_reason }),
      ...(decided_at !== null && { decided_at: String(decided_at) }), ...(used_at !== null && { used_at: String(used_at) }),
    };
    const live = status === 'pending' || status === 'approved' || status === 'denied';
    return (await this.#link.run(() => this.#link.cmd.eval(
      IMPORT, 5, this.#k(a.id), this.#link.key('approvals', 'digest', a.binding_digest), this.#link.key('approvals', 'all'),
      this.#link.key('approvals', 'live'), this.#link.key('approvals', 'task', a.task_id ?? ''),
      a.id, String(a.created_at), String(a.expires_at), live ? '1' : '0', ...Object.entries(fields).flat(),
    ))) === 1;
  }

  async findLive(bindingDigest: string, now: number): Promise<Approval | undefined> {
    const id = await this.#link.run(() => this.#link.cmd.eval(FIND_LIVE, 1, this.#link.key('approvals', 'digest', bindingDigest), String(now), this.#prefix)) as string | null;
    return id ? this.get(id) : undefined;
  }

  async findLiveOrInsert(bindingDigest: string, now: number, create: () => NewApproval): Promise<{ approval: Approval; created: boolean }> {
    const a = create();
    const [created, id] = await this.#link.run(() => this.#link.cmd.eval(
      FIND_OR_INSERT, 4,
      this.#link.key('approvals', 'digest', bindingDigest), this.#link.key('approvals', 'all'), this.#link.key('approvals', 'live'), this.#link.key('approvals', 'task', a.task_id ?? ''),
      String(now), this.#prefix, a.id, String(a.created_at), String(a.expires_at), a.task_id ?? '', JSON.stringify(a),
    )) as [number, string];
    const approval = await this.get(id);
    if (!approval) throw new Error(`approval ${id} vanished`);
    return { approval, created: created === 1 };
  }

  async liveTaskIds(now: number): Promise<string[]> {
    const ids = await this.#link.run(() => this.#link.cmd.zrangebyscore(this.#link.key('approvals', 'live'), `(${now}`, '+inf'));
    if (ids.length === 0) return [];
    const pipe = this.#link.cmd.pipeline();
    for (const id of ids) pipe.hmget(this.#k(id), 'status', 'task_id');
    const rows = (await this.#link.run(() => pipe.exec())) ?? [];
    const out = new Set<string>();
    for (const [, v] of rows) {
      const [status, task] = v as [string | null, string | null];
      if (status === 'pending' || status === 'approved' || status === 'denied') out.add(task ?? '');
    }
    return [...out];
  }

  async list({ status, limit = 500 }: { status?: ApprovalStatus; limit?: number } = {}): Promise<Approval[]> {
    // Newest first; a status filter scans a bounded window of the newest approvals.
    const window = status ? Math.max(limit * 10, 5000) : limit;
    const ids = await this.#link.run(() => this.#link.cmd.zrevrange(this.#link.key('approvals', 'all'), 0, window - 1));
    const out: Approval[] = [];
    for (const id of ids) {
      const a = await this.get(id);
      if (a && (!status || a.status === status)) out.push(a);
      if (out.length >= limit) break;
    }
    return out;
  }

  async decide(id: string, status: 'approved' | 'denied', approver: string, reason: string | undefined, now: number): Promise<DecideResult | undefined> {
    const r = await this.#link.run(() => this.#link.cmd.eval(DECIDE, 1, this.#k(id), status, approver, reason ?? '', String(now))) as number;
    if (r === -1) return undefined;
    const approval = await this.get(id);
    return approval && { approval, changed: r === 1 };
  }

  async consume(id: string, now: number): Promise<boolean> {
    return (await this.#link.run(() => this.#link.cmd.eval(CONSUME, 2, this.#k(id), this.#link.key('approvals', 'live'), String(now), id))) === 1;
  }

  async cancelForTask(taskId: string, now: number): Promise<string[]> {
    return this.#link.run(() => this.#link.cmd.eval(CANCEL_FOR_TASK, 2, this.#link.key('approvals', 'task', taskId), this.#link.key('approvals', 'live'), String(now), this.#prefix)) as Promise<string[]>;
  }

  async expire(now: number): Promise<string[]> {
    return this.#link.run(() => this.#link.cmd.eval(EXPIRE, 1, this.#link.key('approvals', 'live'), String(now), this.#prefix)) as Promise<string[]>;
  }
}
