// ApprovalStore on SQLite: a pending or granted approval survives a restart. Every state change is
// one conditional UPDATE (`WHERE status = ...`): SQLite serialises writers, so decide and consume
// are atomic even when two requests or two processes race for them.

import type { Approval, ApprovalStatus, ApprovalStore, DecideResult, NewApproval } from '../approvals.js';
import type { Db } from './database.js';

type Row = Omit<Approval, 'summary' | 'approvers' | 'status' | 'detail'> & { summary: string; approvers: string; status: string; detail: string | null };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY,
  binding_digest TEXT NOT NULL,
  task_id TEXT,
  agent_id TEXT,
  upstream TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  summary TEXT NOT NULL,
  detail TEXT,
  decision_id TEXT NOT NULL,
  reason TEXT,
  risk TEXT,
  approvers TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending','approved','denied','used','expired','cancelled')),
  approver TEXT,
  decision_reason TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  decided_at INTEGER,
  used_at INTEGER
);
CREATE INDEX IF NOT EXISTS approvals_digest ON approvals (binding_digest, created_at);
CREATE INDEX IF NOT EXISTS approvals_status ON approvals (status, expires_at);
CREATE INDEX IF NOT EXISTS approvals_task ON approvals (task_id);
`;

function fromRow(r: Row): Approval {
  return { ...r, summary: JSON.parse(r.summary) as Record<string, unknown>, detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>), approvers: JSON.parse(r.approvers) as string[], status: r.status as ApprovalStatus };
}

export class SqliteApprovalStore implements ApprovalStore {
  readonly #db: Db;
  readonly #stmts;

  constructor(db: Db) {
    this.#db = db;
    db.exec(SCHEMA);
    // Databases made before the console have no detail column.
    if (!(db.prepare('PRAGMA table_info(approvals)').all() as { name: string }[]).some((c) => c.name === 'detail')) db.exec('ALTER TABLE approvals ADD COLUMN detail TEXT');
    this.#stmts = {
      insert: db.prepare(`INSERT INTO approvals (id, binding_digest, task_id, agent_id, upstream, method, path, summary, detail, decision_id, reason, risk, approvers, status, created_at, expires_at)
        VALUES (@id, @binding_digest, @task_id, @agent_id, @upstream, @method, @path, @summary, @detail, @decision_id, @reason, @risk, @approvers, 'pending', @created_at, @expires_at)`),
      get: db.prepare('SELECT * FROM approvals WHERE id = ?'),
      findLive: db.prepare(`SELECT * FROM approvals WHERE binding_digest = ? AND status IN ('pending','approved','denied') AND expires_at > ?
        ORDER BY created_at DESC, rowid DESC LIMIT 1`),
      liveTasks: db.prepare(`SELECT DISTINCT coalesce(task_id, '') AS task_id FROM approvals
        WHERE status IN ('pending','approved','denied') AND expires_at > ?`),
      listAll: db.prepare('SELECT * FROM approvals ORDER BY created_at DESC, rowid DESC LIMIT ?'),
      every: db.prepare('SELECT * FROM approvals ORDER BY created_at, rowid'),
      listByStatus: db.prepare('SELECT * FROM approvals WHERE status = ? ORDER BY created_at DESC, rowid DESC LIMIT ?'),
      decide: db.prepare(`UPDATE approvals SET status = @status, approver = @approver, decision_reason = @reason, decided_at = @now
        WHERE id = @id AND status = 'pending' AND expires_at > @now`),
      consume: db.prepare(`UPDATE approvals SET status = 'used', used_at = @now WHERE id = @id AND status = 'approved' AND expires_at > @now`),
      cancelForTask: db.prepare(`UPDATE approvals SET status = 'cancelled', decided_at = @now
        WHERE task_id = @task_id AND status IN ('pending','approved') RETURNING id`),
      // Denied approvals keep their status: the denial is the record of what the human said.
      expire: db.prepare(`UPDATE approvals SET status = 'expired' WHERE status IN ('pending','approved') AND expires_at <= ? RETURNING id`),
    };
  }

  insert(a: NewApproval): Approval {
    this.#stmts.insert.run({ ...a, summary: JSON.stringify(a.summary), detail: a.detail ? JSON.stringify(a.detail) : null, approvers: JSON.stringify(a.approvers) });
    return this.get(a.id)!;
  }

  /** Task ids ('' for approvals without a task) that have a live approval. */
  liveTaskIds(now: number): string[] {
    return (this.#stmts.liveTasks.all(now) as { task_id: string }[]).map((r) => r.task_id);
  }

  get(id: string): Approval | undefined {
    const r = this.#stmts.get.get(id) as Row | undefined;
    return r && fromRow(r);
  }

  /** The newest unexpired pending, approved or denied approval for this call. */
  findLive(bindingDigest: string, now: number): Approval | undefined {
    const r = this.#stmts.findLive.get(bindingDigest, now) as Row | undefined;
    return r && fromRow(r);
  }

  /** Find a live approval or insert `create()`, in one write transaction (no duplicate across processes). */
  findLiveOrInsert(bindingDigest: string, now: number, create: () => NewApproval): { approval: Approval; created: boolean } {
    const tx = this.#db.transaction(() => {
      const live = this.findLive(bindingDigest, now);
      return live ? { approval: live, created: false } : { approval: this.insert(create()), created: true };
    });
    return tx.immediate();
  }

  list({ status, limit = 500 }: { status?: ApprovalStatus; limit?: number } = {}): Approval[] {
    const rows = (status ? this.#stmts.listByStatus.all(status, limit) : this.#stmts.listAll.all(limit)) as Row[];
    return rows.map(fromRow);
  }

  /** Every approval, oldest first (`warden store migrate`). */
  all(): Approval[] {
    return (this.#stmts.every.all() as Row[]).map(fromRow);
  }

  decide(id: string, status: 'approved' | 'denied', approver: string, reason: string | undefined, now: number): DecideResult | undefined {
    const { changes } = this.#stmts.decide.run({ id, status, approver, reason: reason ?? null, now });
    const approval = this.get(id);
    return approval && { approval, changed: changes === 1 };
  }

  /** approved → used, atomically: true for exactly one caller, false once used or expired. */
  consume(id: string, now: number): boolean {
    return this.#stmts.consume.run({ id, now }).changes === 1;
  }

  /** Cancel the pending and approved approvals of a task; returns their ids. */
  cancelForTask(taskId: string, now: number): string[] {
    return (this.#stmts.cancelForTask.all({ task_id: taskId, now }) as { id: string }[]).map((r) => r.id);
  }

  /** Mark pending and approved approvals past their expiry as expired; returns their ids. */
  expire(now: number): string[] {
    return (this.#stmts.expire.all(now) as { id: string }[]).map((r) => r.id);
  }
}
