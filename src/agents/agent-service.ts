// The agent registry behind /v1/agents: agents as non-human identities with an owner, a scope
// ceiling and a lifecycle (active ⇄ suspended → retired). Suspending or retiring an agent revokes
// every live task of it at once; narrowing its scopes revokes the tasks that now exceed them.
// The identity and task domains ask it whether an agent may act (`admit*`, `forTask`, `forSubject`).

import { WardenError } from '../errors.js';
import { badRequest, objectBody, stringList } from './input.js';
import type { AgentRecord, AgentStatus, AgentStore, AgentSubject } from '../store/agents.js';
import { andThen, type Awaitable } from '../store/awaitable.js';
import { riskWithin, scopesBeyond } from './ceiling.js';
import { agentView, isStale, type AgentView, type LiveTask } from './inventory.js';

export type AgentEvent =
  | { event: 'agent.registered'; agent: string; owner: string; scopes: readonly string[]; max_risk?: string; subjects: readonly AgentSubject[] }
  | { event: 'agent.updated'; agent: string; owner: string; scopes: readonly string[]; from_owner: string; from_scopes: readonly string[]; revoked_tasks: readonly string[] }
  | { event: 'agent.suspended' | 'agent.retired' | 'agent.reactivated'; agent: string; owner: string; from_status: AgentStatus; revoked_tasks: readonly string[] };

/** What the registry needs of the task domain. */
export interface AgentTasks {
  /** Tasks neither revoked nor expired. */
  live(nowMs: number): Awaitable<readonly LiveTask[]>;
  revoke(taskId: string): Promise<unknown>;
}

export interface AgentServiceOptions {
  /** `tasks.risks`, lowest first. */
  readonly risks: readonly string[];
  /** `identity.registered_agents_only`. */
  readonly registeredOnly: boolean;
  /** `agents.stale_after`. */
  readonly staleAfterMs: number;
  readonly onEvent?: (e: AgentEvent) => void;
  readonly now?: () => number;
}

const CREATE_FIELDS = new Set(['id', 'owner', 'description', 'scopes', 'max_risk', 'subjects']);
const PATCH_FIELDS = new Set(['status', 'owner', 'scopes']);
const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

function text(v: unknown, field: string, max: number): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > max) throw badRequest(`${field}: must be a non-empty string of at most ${max} characters`);
  return v;
}

function subjectsOf(v: unknown): AgentSubject[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > 64) throw badRequest('subjects: must be a list of at most 64 {issuer, subject} objects');
  const seen = new Set<string>();
  return v.map((s, i) => {
    const o = objectBody(s, new Set(['issuer', 'subject']));
    const subject = { issuer: text(o.issuer, `subjects[${i}].issuer`, 1024), subject: text(o.subject, `subjects[${i}].subject`, 2048) };
    const key = `${subject.issuer}\n${subject.subject}`;
    if (seen.has(key)) throw badRequest(`subjects[${i}]: listed twice`);
    seen.add(key);
    return subject;
  });
}

export class AgentService {
  readonly #now: () => number;

  constructor(
    readonly store: AgentStore,
    private readonly tasks: AgentTasks,
    private readonly opts: AgentServiceOptions,
  ) {
    this.#now = opts.now ?? Date.now;
  }

  get registeredOnly(): boolean {
    return this.opts.registeredOnly;
  }

  async register(body: unknown): Promise<AgentRecord> {
    const b = objectBody(body, CREATE_FIELDS);
    if (typeof b.id !== 'string' || !ID.test(b.id)) throw badRequest('id: must be 1-128 characters of letters, digits and . _ : @ - (starting with a letter or digit)');
    const owner = text(b.owner, 'owner', 256);
    const description = b.description === undefined ? undefined : text(b.description, 'description', 1024);
    const scopes = stringList(b.scopes ?? [], 'scopes');
    const maxRisk = b.max_risk === undefined ? undefined : this.#risk(b.max_risk, 'max_risk');
    const now = this.#now();
    const rec: AgentRecord = {
      id: b.id,
      owner,
      ...(description !== undefined && { description }),
      scopes,
      ...(maxRisk !== undefined && { max_risk: maxRisk }),
      status: 'active',
      subjects: subjectsOf(b.subjects),
      created_at: now,
      updated_at: now,
    };
    if (!(await this.store.create(rec))) throw new WardenError('AGENT_EXISTS', `agent ${rec.id} or one of its subjects`);
    this.opts.onEvent?.({ event: 'agent.registered', agent: rec.id, owner, scopes, ...(maxRisk !== undefined && { max_risk: maxRisk }), subjects: rec.subjects });
    return rec;
  }

  async get(id: string): Promise<AgentRecord> {
    const rec = await this.store.get(id);
    if (!rec) throw new WardenError('ADMIN_NOT_FOUND', `agent ${id}`);
    return rec;
  }

  async patch(id: string, body: unknown): Promise<AgentRecord> {
    const b = objectBody(body, PATCH_FIELDS);
    if (b.status === undefined && b.owner === undefined && b.scopes === undefined) throw badRequest('body: give status, owner or scopes');
    if (b.status !== undefined && b.status !== 'active' && b.status !== 'suspended') throw badRequest('status: must be "active" or "suspended" (DELETE retires an agent)');
    const owner = b.owner === undefined ? undefined : text(b.owner, 'owner', 256);
    const scopes = b.scopes === undefined ? undefined : stringList(b.scopes, 'scopes');
    const cur = await this.get(id);
    if (cur.status === 'retired') throw new WardenError('AGENT_REFUSED', `agent ${id} is retired`);
    const status = b.status as AgentStatus | undefined;
    const next = await this.store.update(id, { ...(owner !== undefined && { owner }), ...(scopes !== undefined && { scopes }), ...(status !== undefined && { status }), updated_at: this.#now() });
    if (!next) throw new WardenError('ADMIN_NOT_FOUND', `agent ${id}`);
    if (status === 'suspended' && cur.status !== 'suspended') {
      const revoked = await this.#revokeTasks(id, () => true);
      this.opts.onEvent?.({ event: 'agent.suspended', agent: id, owner: next.owner, from_status: cur.status, revoked_tasks: revoked });
    } else if (status === 'active' && cur.status === 'suspended') {
      this.opts.onEvent?.({ event: 'agent.reactivated', agent: id, owner: next.owner, from_status: cur.status, revoked_tasks: [] });
    }
    if (owner !== undefined || scopes !== undefined) {
      // A narrowed ceiling applies to the tasks already running, not only to new ones.
      const revoked = scopes === undefined ? [] : await this.#revokeTasks(id, (t) => scopesBeyond(t.scopes, scopes).length > 0);
      this.opts.onEvent?.({ event: 'agent.updated', agent: id, owner: next.owner, scopes: next.scopes, from_owner: cur.owner, from_scopes: cur.scopes, revoked_tasks: revoked });
    }
    return next;
  }

  /** DELETE: retired for good; every live task is revoked at once. Idempotent. */
  async retire(id: string): Promise<AgentRecord> {
    const cur = await this.get(id);
    if (cur.status === 'retired') return cur;
    const next = (await this.store.update(id, { status: 'retired', updated_at: this.#now() }))!;
    const revoked = await this.#revokeTasks(id, () => true);
    this.opts.onEvent?.({ event: 'agent.retired', agent: id, owner: next.owner, from_status: cur.status, revoked_tasks: revoked });
    return next;
  }

  /** The inventory: every agent (or one) with its live tasks and stale flag. */
  async views(id?: string): Promise<AgentView[]> {
    const now = this.#now();
    const agents = id === undefined ? await this.store.list() : [await this.get(id)];
    const live = await this.tasks.live(now);
    return agents.sort((a, b) => a.id.localeCompare(b.id)).map((a) => agentView(a, live, now, this.opts.staleAfterMs));
  }

  /** Agents by status, and how many active ones are stale (the metrics gauges). */
  async counts(): Promise<{ byStatus: Record<AgentStatus, number>; stale: number }> {
    const now = this.#now();
    const byStatus: Record<AgentStatus, number> = { active: 0, suspended: 0, retired: 0 };
    let stale = 0;
    for (const a of await this.store.list()) {
      byStatus[a.status] += 1;
      if (isStale(a, now, this.opts.staleAfterMs)) stale += 1;
    }
    return { byStatus, stale };
  }

  /** A task may be created for `agentId` with these scopes and risk; throws otherwise. */
  async admitTask(agentId: string, scopes: readonly string[], risk: string): Promise<void> {
    const agent = await this.store.get(agentId);
    if (!agent) {
      if (this.opts.registeredOnly) throw new WardenError('AGENT_REFUSED', `agent ${agentId} is not registered`);
      return;
    }
    if (agent.status !== 'active') throw new WardenError('AGENT_REFUSED', `agent ${agentId} is ${agent.status}`);
    const beyond = scopesBeyond(scopes, agent.scopes);
    if (beyond.length > 0) throw new WardenError('AGENT_CEILING_EXCEEDED', `scopes beyond agent ${agentId}'s: ${beyond.join(', ')}`);
    this.admitRisk(agent, risk);
    this.store.touch(agentId, this.#now());
  }

  /** A task of `agentId` may move to `risk` (PATCH /v1/tasks/{id}). */
  async admitTaskRisk(agentId: string, risk: string): Promise<void> {
    const agent = await this.store.get(agentId);
    if (agent) this.admitRisk(agent, risk);
  }

  /**
   * The registered agent behind a task's agent id, for `input.agent`; undefined when none is
   * registered and unregistered agents are allowed. Throws AGENT_* for a refused one.
   */
  forTask(agentId: string): Awaitable<AgentRecord | undefined> {
    return andThen(this.store.get(agentId), (rec) => this.#active(rec, `agent ${agentId}`));
  }

  /** The registered agent an external subject maps to (as forTask), trying each issuer label in turn. */
  forSubject(issuers: readonly string[], subject: string): Awaitable<AgentRecord | undefined> {
    const tryFrom = (i: number): Awaitable<AgentRecord | undefined> => {
      if (i >= issuers.length) return this.#active(undefined, `subject of ${issuers[0] ?? '?'}`);
      return andThen(this.store.bySubject(issuers[i]!, subject), (rec) => (rec ? this.#active(rec, `subject of ${issuers[i]}`) : tryFrom(i + 1)));
    };
    return tryFrom(0);
  }

  #active(rec: AgentRecord | undefined, label: string): AgentRecord | undefined {
    if (!rec) {
      if (this.opts.registeredOnly) throw new WardenError('AGENT_NOT_REGISTERED', label);
      return undefined;
    }
    if (rec.status !== 'active') throw new WardenError('AGENT_INACTIVE', `agent ${rec.id} is ${rec.status}`);
    this.store.touch(rec.id, this.#now());
    return rec;
  }

  private admitRisk(agent: AgentRecord, risk: string): void {
    if (!riskWithin(risk, agent.max_risk, this.opts.risks)) throw new WardenError('AGENT_CEILING_EXCEEDED', `risk ${risk} is above agent ${agent.id}'s max_risk ${agent.max_risk}`);
  }

  #risk(v: unknown, field: string): string {
    if (typeof v !== 'string' || !this.opts.risks.includes(v)) throw badRequest(`${field}: must be one of ${this.opts.risks.join(', ')}`);
    return v;
  }

  async #revokeTasks(agentId: string, which: (t: LiveTask) => boolean): Promise<string[]> {
    const ids = (await this.tasks.live(this.#now())).filter((t) => t.agent === agentId && which(t)).map((t) => t.id);
    await Promise.all(ids.map((id) => this.tasks.revoke(id)));
    return ids;
  }
}
