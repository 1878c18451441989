// AgentStore on Redis: the agent registry of a fleet. An agent is a JSON document
// (`<prefix>agent:<id>`), its external subjects index (`<prefix>agent-subject:<issuer> <subject>`)
// points at it, and activity is a hash written at most once a second per agent and process.
// Reads on the request path come from a cache that pub/sub keeps fresh, like tasks.

import type { AgentPatch, AgentRecord, AgentStore } from '../agents.js';
import type { RedisLink } from './link.js';

// KEYS: agent, agents set. ARGV: id, doc, subject keys... Creates unless the id or a subject exists.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 3, #ARGV do if redis.call('EXISTS', ARGV[i]) == 1 then return 0 end end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
for i = 3, #ARGV do redis.call('SET', ARGV[i], ARGV[1]) end
return 1`;

const TOUCH_EVERY_MS = 1_000;

export class RedisAgentStore implements AgentStore {
  readonly #link: RedisLink;
  readonly #cache = new Map<string, AgentRecord | undefined>();
  readonly #touched = new Map<string, number>();

  constructor(link: RedisLink) {
    this.#link = link;
    link.onMessage((m) => {
      if (m.t === 'agent') this.#cache.delete(m.id);
    });
    link.onReset(() => this.#cache.clear());
  }

  #subjectKey(issuer: string, subject: string): string {
    return this.#link.key('agent-subject', `${issuer} ${subject}`);
  }

  async create(rec: AgentRecord): Promise<boolean> {
    const { last_activity: _ignored, ...doc } = rec;
    const ok = await this.#link.run(() => this.#link.cmd.eval(CREATE, 2, this.#link.key('agent', rec.id), this.#link.key('agents'), rec.id, JSON.stringify(doc), ...rec.subjects.map((s) => this.#subjectKey(s.issuer, s.subject)))) as number;
    if (ok === 1) await this.#link.publish({ t: 'agent', id: rec.id });
    return ok === 1;
  }

  get(id: string): AgentRecord | undefined | Promise<AgentRecord | undefined> {
    this.#link.assertFresh();
    if (this.#cache.has(id)) return this.#cache.get(id);
    return this.#read(id);
  }

  async #read(id: string): Promise<AgentRecord | undefined> {
    const [doc, at] = await this.#link.run(() => Promise.all([this.#link.cmd.get(this.#link.key('agent', id)), this.#link.cmd.hget(this.#link.key('agent-activity'), id)]));
    const rec = doc == null ? undefined : Object.freeze({ ...(JSON.parse(doc) as AgentRecord), ...(at != null && { last_activity: Number(at) }) });
    if (this.#link.fresh()) this.#cache.set(id, rec);
    return rec;
  }

  async bySubject(issuer: string, subject: string): Promise<AgentRecord | undefined> {
    this.#link.assertFresh();
    const id = await this.#link.run(() => this.#link.cmd.get(this.#subjectKey(issuer, subject)));
    return id == null ? undefined : this.get(id);
  }

  async list(): Promise<AgentRecord[]> {
    const ids = (await this.#link.run(() => this.#link.cmd.smembers(this.#link.key('agents')))).sort();
    const recs = await Promise.all(ids.map((id) => this.#read(id)));
    return recs.filter((r): r is AgentRecord => r !== undefined);
  }

  async update(id: string, patch: AgentPatch): Promise<AgentRecord | undefined> {
    const key = this.#link.key('agent', id);
    const cur = await this.#link.run(() => this.#link.cmd.get(key));
    if (cur == null) return undefined;
    const prev = JSON.parse(cur) as AgentRecord;
    const next: AgentRecord = { ...prev, ...(patch.owner !== undefined && { owner: patch.owner }), ...(patch.scopes !== undefined && { scopes: [...patch.scopes] }), ...(patch.status !== undefined && { status: patch.status }), updated_at: patch.updated_at };
    await this.#link.run(() => this.#link.cmd.set(key, JSON.stringify(next)));
    this.#cache.delete(id);
    await this.#link.publish({ t: 'agent', id });
    return this.#read(id);
  }

  touch(id: string, atMs: number): void {
    const last = this.#touched.get(id) ?? 0;
    if (atMs - last < TOUCH_EVERY_MS) return;
    this.#touched.set(id, atMs);
    // Activity only moves forward across the fleet; a failed write is retried by the next call.
    this.#link.cmd.eval(`local c = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') if tonumber(ARGV[2]) > c then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 1`, 1, this.#link.key('agent-activity'), id, String(atMs)).catch(() => this.#touched.delete(id));
  }

  close(): void {
    this.#cache.clear();
  }
}
