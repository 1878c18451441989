// TaskStore and UsageStore on SQLite: tasks, revocations and usage counters. The proxy reads a
// task on every request, so reads come from an in-process cache kept write-through (this process
// is the only writer of its state_dir) and answer synchronously: no promise on the hot path.

import type { TaskUsage } from '../../policy/types.js';
import type { TaskPatch, TaskRecord, TaskStore, TaskUser, UsageStore } from '../tasks.js';
import type { StoredTask } from '../transfer.js';
import type { Db } from './database.js';

interface Entry {
  rec: TaskRecord;
  calls: number;
  stageCalls: Map<string, number>;
}

interface TaskRow {
  id: string;
  agent: string;
  user_json: string;
  stage: string;
  risk: string;
  scopes_json: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  calls: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  id          TEXT PRIMARY KEY,
  agent       TEXT NOT NULL,
  user_json   TEXT NOT NULL,
  stage       TEXT NOT NULL,
  risk        TEXT NOT NULL,
  scopes_json TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  revoked_at  INTEGER,
  calls       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tasks_expires_at ON tasks (expires_at);
CREATE INDEX IF NOT EXISTS tasks_live ON tasks (agent) WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS task_stage_calls (
  task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  stage   TEXT NOT NULL,
  calls   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (task_id, stage)
) WITHOUT ROWID;
`;

/** Records handed out are frozen: a caller that mutates policy input cannot corrupt the cache. */
function freezeRecord(rec: TaskRecord): TaskRecord {
  return Object.freeze({
    ...rec,
    user: Object.freeze({ ...rec.user }),
    scopes: Object.freeze([...rec.scopes]),
  });
}

export class SqliteTaskStore implements TaskStore, UsageStore {
  private readonly cache = new Map<string, Entry>();
  private readonly stmt;
  /**
   * Call counts not yet written, by task and stage. Counting is on every forwarded request; a
   * write transaction each time cost a tenth of the request path's CPU (bench/RESULTS.md), so
   * counts are written in one transaction per `flushIntervalMs`. A crash loses at most that
   * window of counts (never a revocation: those are written at once).
   */
  private readonly pending = new Map<string, Map<string, number>>();
  private readonly writeCounts: (batch: Map<string, Map<string, number>>) => void;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    flushIntervalMs = 100,
  ) {
    db.exec(SCHEMA);
    this.stmt = {
      insert: db.prepare(
        `INSERT INTO tasks (id, agent, user_json, stage, risk, scopes_json, created_at, expires_at, revoked_at)
         VALUES (@id, @agent, @user_json, @stage, @risk, @scopes_json, @created_at, @expires_at, @revoked_at)`,
      ),
      select: db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE id = ?'),
      selectStages: db.prepare<[string], { stage: string; calls: number }>('SELECT stage, calls FROM task_stage_calls WHERE task_id = ?'),
      update: db.prepare('UPDATE tasks SET stage = @stage, risk = @risk WHERE id = @id'),
      revoke: db.prepare('UPDATE tasks SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      countTask: db.prepare('UPDATE tasks SET calls = calls + ? WHERE id = ?'),
      countStage: db.prepare(
        `INSERT INTO task_stage_calls (task_id, stage, calls) VALUES (?, ?, ?)
         ON CONFLICT (task_id, stage) DO UPDATE SET calls = calls + ?`,
      ),
      live: db.prepare<[number], { id: string }>('SELECT id FROM tasks WHERE revoked_at IS NULL AND expires_at > ?'),
      expired: db.prepare<[number], { id: string }>('SELECT id FROM tasks WHERE expires_at < ?'),
      purge: db.prepare('DELETE FROM tasks WHERE expires_at < ?'),
      ids: db.prepare<[], { id: string }>('SELECT id FROM tasks ORDER BY created_at'),
    };
    const { countTask, countStage } = this.stmt;
    // Both counters move in one transaction, so a crash never leaves them apart.
    this.writeCounts = db.transaction((batch: Map<string, Map<string, number>>) => {
      for (const [id, stages] of batch) {
        for (const [stage, n] of stages) {
          countTask.run(n, id);
          countStage.run(id, stage, n, n);
        }
      }
    });
    this.timer = setInterval(() => {
      try {
        this.flush();
      } catch {
        // The database refused the batch (closed, disk full): counting must never take the proxy
        // down; the in-memory counters the policy reads stay right.
      }
    }, flushIntervalMs);
    this.timer.unref();
  }

  /** Write the pending call counts now (also on close). */
  flush(): void {
    if (this.pending.size === 0) return;
    const batch = new Map(this.pending);
    this.pending.clear();
    this.writeCounts(batch);
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }

  create(rec: TaskRecord): void {
    this.stmt.insert.run({
      id: rec.id,
      agent: rec.agent,
      user_json: JSON.stringify(rec.user),
      stage: rec.stage,
      risk: rec.risk,
      scopes_json: JSON.stringify(rec.scopes),
      created_at: rec.created_at,
      expires_at: rec.expires_at,
      revoked_at: rec.revoked_at ?? null,
    });
    this.cache.set(rec.id, { rec: freezeRecord(rec), calls: 0, stageCalls: new Map() });
  }

  get(id: string): TaskRecord | undefined {
    return this.entry(id)?.rec;
  }

  update(id: string, patch: TaskPatch): TaskRecord | undefined {
    const e = this.entry(id);
    if (!e) return undefined;
    const next = freezeRecord({ ...e.rec, stage: patch.stage ?? e.rec.stage, risk: patch.risk ?? e.rec.risk });
    this.stmt.update.run({ id, stage: next.stage, risk: next.risk });
    e.rec = next;
    return next;
  }

  revoke(id: string, atMs: number): boolean {
    const e = this.entry(id);
    if (!e || e.rec.revoked_at !== undefined) return false;
    // The row is committed (WAL) before the cache says revoked, so a crash right after the
    // admin API answered cannot bring the task back.
    this.stmt.revoke.run(atMs, id);
    e.rec = freezeRecord({ ...e.rec, revoked_at: atMs });
    return true;
  }

  recordCall(id: string, stage: string): void {
    const e = this.entry(id);
    if (!e) return;
    let stages = this.pending.get(id);
    if (!stages) this.pending.set(id, (stages = new Map()));
    stages.set(stage, (stages.get(stage) ?? 0) + 1);
    e.calls += 1;
    e.stageCalls.set(stage, (e.stageCalls.get(stage) ?? 0) + 1);
  }

  usage(id: string, stage: string): TaskUsage {
    const e = this.entry(id);
    return { calls: e?.calls ?? 0, stage_calls: e?.stageCalls.get(stage) ?? 0 };
  }

  live(nowMs: number): TaskRecord[] {
    return this.stmt.live.all(nowMs).flatMap((r) => {
      const rec = this.entry(r.id)?.rec;
      return rec && rec.revoked_at === undefined ? [rec] : [];
    });
  }

  purgeExpired(nowMs: number): number {
    this.flush(); // counts of a task about to go must not outlive its row (foreign key)
    const ids = this.db.transaction((now: number) => {
      const expired = this.stmt.expired.all(now).map((r) => r.id);
      this.stmt.purge.run(now);
      return expired;
    })(nowMs);
    for (const id of ids) this.cache.delete(id);
    return ids.length;
  }

  /** Every task with its counts per stage (`warden store migrate`). */
  all(): StoredTask[] {
    this.flush();
    return this.stmt.ids.all().flatMap(({ id }) => {
      const e = this.entry(id);
      return e ? [{ record: e.rec, stageCalls: Object.fromEntries(e.stageCalls) }] : [];
    });
  }

  /** Cache lookup; a miss reads the row once (tasks created before a restart). */
  private entry(id: string): Entry | undefined {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const row = this.stmt.select.get(id);
    if (!row) return undefined;
    const rec: TaskRecord = {
      id: row.id,
      agent: row.agent,
      user: JSON.parse(row.user_json) as TaskUser,
      stage: row.stage,
      risk: row.risk,
      scopes: JSON.parse(row.scopes_json) as string[],
      created_at: row.created_at,
      expires_at: row.expires_at,
      ...(row.revoked_at !== null ? { revoked_at: row.revoked_at } : {}),
    };
    const stageCalls = new Map(this.stmt.selectStages.all(id).map((r) => [r.stage, r.calls] as const));
    const entry: Entry = { rec: freezeRecord(rec), calls: row.calls, stageCalls };
    this.cache.set(id, entry);
    return entry;
  }
}
