// The task lifecycle behind the admin API: create (and sign the task token), read, move through
// the workflow stages of `tasks.transitions`, revoke. Input comes straight from an HTTP body,
// so every field is checked here and a fault names the field.

import { randomUUID } from 'node:crypto';
import { WardenError } from '../errors.js';
import { TaskInputError } from './errors.js';
import { parseDuration } from '../config/duration.js';
import type { WardenConfig } from '../config/schema.js';
import type { TaskUsage } from '../policy/types.js';
import type { TaskTokens } from '../identity/task-tokens.js';
import type { TaskPatch, TaskRecord, TaskStores, TaskUser } from '../store/tasks.js';

export type TaskEvent =
  | { event: 'task.created'; task_id: string; agent: string; user_id: string; stage: string; risk: string; scopes: readonly string[]; expires_at: string }
  | { event: 'task.updated'; task_id: string; agent: string; stage: string; risk: string; from_stage: string; from_risk: string }
  | { event: 'task.revoked'; task_id: string; agent: string; revoked_at: string };

export interface TaskView {
  task_id: string;
  agent: string;
  user: Readonly<TaskUser>;
  stage: string;
  risk: string;
  scopes: readonly string[];
  status: 'active' | 'expired' | 'revoked';
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  usage: TaskUsage;
}

export interface CreatedTask {
  task_id: string;
  token: string;
  expires_at: string;
}

/** A returned promise is awaited by revoke(); a failure is reported through onHookError. */
export type RevokeHook = (taskId: string) => unknown;

export interface TaskServiceOptions {
  /** Audit hook: one call per change. */
  onEvent?: (e: TaskEvent) => void;
  /** Called when a revoke hook throws; the revoke itself still succeeds. */
  onHookError?: (err: unknown, taskId: string) => void;
  /** The agent registry's say on a task (ceiling, status); throws a coded error to refuse. */
  admission?: TaskAdmission;
  now?: () => number;
}

export interface TaskAdmission {
  admitTask(agent: string, scopes: readonly string[], risk: string): Promise<void>;
  admitTaskRisk(agent: string, risk: string): Promise<void>;
}

const CREATE_FIELDS = new Set(['agent', 'user', 'stage', 'risk', 'scopes', 'ttl']);
const PATCH_FIELDS = new Set(['stage', 'risk']);
/** The user object goes into every policy input; keep it small. */
const MAX_USER_JSON = 16_384;

const iso = (ms: number): string => new Date(ms).toISOString();
const bad = (detail: string): TaskInputError => new TaskInputError(detail);

export class TaskService {
  private readonly revokeHooks = new Set<RevokeHook>();
  private readonly now: () => number;

  constructor(
    private readonly config: WardenConfig,
    private readonly stores: TaskStores,
    private readonly tokens: TaskTokens,
    private readonly opts: TaskServiceOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Registers a hook run after a task is revoked (step-up cancels its approvals); returns an unsubscribe. */
  onRevoke(hook: RevokeHook): () => void {
    this.revokeHooks.add(hook);
    return () => this.revokeHooks.delete(hook);
  }

  async create(body: unknown): Promise<CreatedTask> {
    const b = objectBody(body, CREATE_FIELDS);
    const agent = b.agent;
    if (typeof agent !== 'string' || agent.trim() === '') throw bad('agent: must be a non-empty string');
    const user = b.user;
    if (typeof user !== 'object' || user === null || Array.isArray(user)) throw bad('user: must be an object with a string id');
    const userId = (user as Record<string, unknown>).id;
    if (typeof userId !== 'string' || userId === '') throw bad('user.id: must be a non-empty string');
    if (JSON.stringify(user).length > MAX_USER_JSON) throw bad(`user: larger than ${MAX_USER_JSON} bytes of JSON`);
    const stage = this.checkStage(b.stage);
    const risk = this.checkRisk(b.risk);
    const scopes = b.scopes ?? [];
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) throw bad('scopes: must be a list of strings');
    const ttlMs = this.checkTtl(b.ttl);
    await this.opts.admission?.admitTask(agent, scopes as string[], risk);

    const nowMs = this.now();
    // Whole seconds on both sides, so that the token's exp and the task's expiry are equal.
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + Math.floor(ttlMs / 1000);
    const rec: TaskRecord = {
      id: randomUUID(),
      agent,
      user: { ...(user as TaskUser) },
      stage,
      risk,
      scopes: [...(scopes as string[])],
      created_at: nowMs,
      expires_at: exp * 1000,
    };
    const token = await this.tokens.sign(agent, rec.id, iat, exp);
    await this.stores.tasks.create(rec);
    const expires_at = iso(rec.expires_at);
    this.opts.onEvent?.({ event: 'task.created', task_id: rec.id, agent, user_id: userId, stage, risk, scopes: rec.scopes, expires_at });
    return { task_id: rec.id, token, expires_at };
  }

  /** The task, or undefined when there is none with this id. */
  async get(id: string): Promise<TaskView | undefined> {
    const rec = await this.stores.tasks.get(id);
    return rec && this.view(rec);
  }

  /** Move the task (TASK_TRANSITION_REFUSED when it may not); undefined when there is no such task. */
  async patch(id: string, body: unknown): Promise<TaskView | undefined> {
    const b = objectBody(body, PATCH_FIELDS);
    if (b.stage === undefined && b.risk === undefined) throw bad('body: give stage, risk or both');
    const patch: TaskPatch = {};
    if (b.stage !== undefined) patch.stage = this.checkStage(b.stage);
    if (b.risk !== undefined) patch.risk = this.checkRisk(b.risk);
    const cur = await this.stores.tasks.get(id);
    if (!cur) return undefined;
    if (cur.revoked_at !== undefined) throw new WardenError('TASK_TRANSITION_REFUSED', `task ${id} is revoked`);
    if (cur.expires_at <= this.now()) throw new WardenError('TASK_TRANSITION_REFUSED', `task ${id} has expired`);
    if (patch.risk !== undefined) await this.opts.admission?.admitTaskRisk(cur.agent, patch.risk);
    if (patch.stage !== undefined && patch.stage !== cur.stage && !this.mayMove(cur.stage, patch.stage)) {
      throw new WardenError('TASK_TRANSITION_REFUSED', `stage ${cur.stage} → ${patch.stage} is not in tasks.transitions`);
    }
    const next = await this.stores.tasks.update(id, patch);
    if (!next) return undefined; // purged meanwhile
    this.opts.onEvent?.({ event: 'task.updated', task_id: id, agent: next.agent, stage: next.stage, risk: next.risk, from_stage: cur.stage, from_risk: cur.risk });
    return await this.view(next);
  }

  /**
   * Idempotent: revoking a revoked task answers its first revocation time. Resolves once the revoke
   * hooks have run (a hook's failure is reported, not thrown); undefined when there is no such task.
   */
  async revoke(id: string): Promise<{ task_id: string; revoked_at: string } | undefined> {
    const cur = await this.stores.tasks.get(id);
    if (!cur) return undefined;
    if (cur.revoked_at !== undefined) return { task_id: id, revoked_at: iso(cur.revoked_at) };
    const at = this.now();
    const changed = await this.stores.tasks.revoke(id, at);
    const revokedAt = (await this.stores.tasks.get(id))?.revoked_at ?? at;
    if (changed) {
      this.opts.onEvent?.({ event: 'task.revoked', task_id: id, agent: cur.agent, revoked_at: iso(revokedAt) });
      await Promise.all([...this.revokeHooks].map((hook) => this.runHook(hook, id)));
    }
    return { task_id: id, revoked_at: iso(revokedAt) };
  }

  /** Count one forwarded call (the proxy calls this when it forwards an allowed request). */
  recordCall(taskId: string, stage: string): void {
    this.stores.usage.recordCall(taskId, stage);
  }

  private async runHook(hook: RevokeHook, id: string): Promise<void> {
    try {
      await hook(id);
    } catch (err) {
      this.opts.onHookError?.(err, id);
    }
  }

  /** An empty map allows any move; otherwise only the listed targets (none for an unlisted stage). */
  private mayMove(from: string, to: string): boolean {
    const t = this.config.tasks.transitions;
    if (Object.keys(t).length === 0) return true;
    return (t[from] ?? []).includes(to);
  }

  private checkStage(v: unknown): string {
    const stages = this.config.tasks.stages;
    if (typeof v !== 'string' || !stages.includes(v)) throw bad(`stage: must be one of ${stages.join(', ')}`);
    return v;
  }

  private checkRisk(v: unknown): string {
    const risks = this.config.tasks.risks;
    if (typeof v !== 'string' || !risks.includes(v)) throw bad(`risk: must be one of ${risks.join(', ')}`);
    return v;
  }

  /** A duration string ("15m") or a number of seconds; defaults and caps from identity.task_tokens. */
  private checkTtl(v: unknown): number {
    const { default_ttl, max_ttl } = this.config.identity.task_tokens;
    if (v === undefined || v === null) return default_ttl;
    let ms: number;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw bad('ttl: must be a duration such as "15m" or a number of seconds');
      ms = v * 1000;
    } else {
      try {
        ms = parseDuration(v, 'ttl');
      } catch {
        throw bad('ttl: must be a duration such as "15m" or a number of seconds');
      }
    }
    if (ms < 1000) throw bad('ttl: must be at least 1s');
    if (ms > max_ttl) throw bad(`ttl: exceeds identity.task_tokens.max_ttl (${max_ttl / 1000}s)`);
    return ms;
  }

  private async view(rec: TaskRecord): Promise<TaskView> {
    const status = rec.revoked_at !== undefined ? 'revoked' : rec.expires_at <= this.now() ? 'expired' : 'active';
    return {
      task_id: rec.id,
      agent: rec.agent,
      user: rec.user,
      stage: rec.stage,
      risk: rec.risk,
      scopes: rec.scopes,
      status,
      created_at: iso(rec.created_at),
      expires_at: iso(rec.expires_at),
      revoked_at: rec.revoked_at !== undefined ? iso(rec.revoked_at) : null,
      usage: await this.stores.usage.usage(rec.id, rec.stage),
    };
  }
}

/** A JSON object whose keys are all known; a typo ("stgae") is refused, not ignored. */
function objectBody(body: unknown, allowed: ReadonlySet<string>): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('body: must be a JSON object');
  for (const k of Object.keys(body)) if (!allowed.has(k)) throw bad(`${k}: unknown field (allowed: ${[...allowed].join(', ')})`);
  return body as Record<string, unknown>;
}
