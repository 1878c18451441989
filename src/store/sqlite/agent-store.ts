// AgentStore on the embedded SQLite database. Agents are few and read on every request, so all of
// them are held in memory, written through; activity times are written in batches (one
// transaction per flush interval), as call counts are.

import type { Db } from './database.js';
import type { AgentPatch, AgentRecord, AgentStatus, AgentStore, AgentSubject } from '../agents.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS agents (
  id            TEXT PRIMARY KEY,
  owner         TEXT NOT NULL,
  description   TEXT,
  scopes_json   TEXT NOT NULL,
  max_risk      TEXT,
  status        TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  last_activity INTEGER
);
CREATE TABLE IF NOT EXISTS agent_subjects (
  issuer   TEXT NOT NULL,
  subject  TEXT NOT NULL,
  agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  PRIMARY KEY (issuer, subject)
) WITHOUT ROWID;
`;

interface AgentRow {
  id: string;
  owner: string;
  description: string | null;
  scopes_json: string;
  max_risk: string | null;
  status: string;
  created_at: number;
  updated_at: number;
  last_activity: number | null;
}

const subjectKey = (issuer: string, subject: string): string => `${issuer}\n${subject}`;

function freeze(rec: AgentRecord): AgentRecord {
  return Object.freeze({ ...rec, scopes: Object.freeze([...rec.scopes]), subjects: Object.freeze(rec.subjects.map((s) => Object.freeze({ ...s }))) });
}

export class SqliteAgentStore implements AgentStore {
  readonly #agents = new Map<string, AgentRecord>();
  readonly #subjects = new Map<string, string>();
  readonly #pending = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;
  readonly #stmt;
  readonly #insert: (rec: AgentRecord) => void;
  readonly #writeActivity: (batch: Map<string, number>) => void;

  constructor(db: Db, flushIntervalMs = 1000) {
    db.exec(SCHEMA);
    this.#stmt = {
      insertAgent: db.prepare(
        `INSERT INTO agents (id, owner, description, scopes_json, max_risk, status, created_at, updated_at)
         VALUES (@id, @owner, @description, @scopes_json, @max_risk, @status, @created_at, @updated_at)`,
      ),
      insertSubject: db.prepare('INSERT INTO agent_subjects (issuer, subject, agent_id) VALUES (?, ?, ?)'),
      update: db.prepare('UPDATE agents SET owner = @owner, scopes_json = @scopes_json, status = @status, updated_at = @updated_at WHERE id = @id'),
      activity: db.prepare('UPDATE agents SET last_activity = MAX(COALESCE(last_activity, 0), ?) WHERE id = ?'),
    };
    const { insertAgent, insertSubject, activity } = this.#stmt;
    this.#insert = db.transaction((rec: AgentRecord) => {
      insertAgent.run({ id: rec.id, owner: rec.owner, description: rec.description ?? null, scopes_json: JSON.stringify(rec.scopes), max_risk: rec.max_risk ?? null, status: rec.status, created_at: rec.created_at, updated_at: rec.updated_at });
      for (const s of rec.subjects) insertSubject.run(s.issuer, s.subject, rec.id);
    });
    this.#writeActivity = db.transaction((batch: Map<string, number>) => {
      for (const [id, at] of batch) activity.run(at, id);
    });
    const subjects = new Map<string, AgentSubject[]>();
    for (const s of db.prepare<[], { issuer: string; subject: string; agent_id: string }>('SELECT * FROM agent_subjects').all()) {
      subjects.set(s.agent_id, [...(subjects.get(s.agent_id) ?? []), { issuer: s.issuer, subject: s.subject }]);
      this.#subjects.set(subjectKey(s.issuer, s.subject), s.agent_id);
    }
    for (const row of db.prepare<[], AgentRow>('SELECT * FROM agents').all()) {
      this.#agents.set(row.id, freeze({
        id: row.id,
        owner: row.owner,
        ...(row.description !== null && { description: row.description }),
        scopes: JSON.parse(row.scopes_json) as string[],
        ...(row.max_risk !== null && { max_risk: row.max_risk }),
        status: row.status as AgentStatus,
        subjects: subjects.get(row.id) ?? [],
        created_at: row.created_at,
        updated_at: row.updated_at,
        ...(row.last_activity !== null && { last_activity: row.last_activity }),
      }));
    }
    this.#timer = setInterval(() => {
      try {
        this.flush();
      } catch {
        // A refused batch (disk full) must not take the proxy down; the cache keeps the times.
      }
    }, flushIntervalMs);
    this.#timer.unref();
  }

  flush(): void {
    if (this.#pending.size === 0) return;
    const batch = new Map(this.#pending);
    this.#pending.clear();
    this.#writeActivity(batch);
  }

  create(rec: AgentRecord): boolean {
    if (this.#agents.has(rec.id) || rec.subjects.some((s) => this.#subjects.has(subjectKey(s.issuer, s.subject)))) return false;
    this.#insert(rec);
    this.#agents.set(rec.id, freeze(rec));
    for (const s of rec.subjects) this.#subjects.set(subjectKey(s.issuer, s.subject), rec.id);
    return true;
  }

  get(id: string): AgentRecord | undefined {
    return this.#agents.get(id);
  }

  bySubject(issuer: string, subject: string): AgentRecord | undefined {
    const id = this.#subjects.get(subjectKey(issuer, subject));
    return id === undefined ? undefined : this.#agents.get(id);
  }

  list(): AgentRecord[] {
    return [...this.#agents.values()];
  }

  update(id: string, patch: AgentPatch): AgentRecord | undefined {
    const cur = this.#agents.get(id);
    if (!cur) return undefined;
    const next = freeze({ ...cur, owner: patch.owner ?? cur.owner, scopes: patch.scopes ?? cur.scopes, status: patch.status ?? cur.status, updated_at: patch.updated_at });
    this.#stmt.update.run({ id, owner: next.owner, scopes_json: JSON.stringify(next.scopes), status: next.status, updated_at: next.updated_at });
    this.#agents.set(id, next);
    return next;
  }

  touch(id: string, atMs: number): void {
    const cur = this.#agents.get(id);
    // One-second resolution: the hot path does not copy the record on every call.
    if (!cur || atMs - (cur.last_activity ?? 0) < 1000) return;
    this.#agents.set(id, Object.freeze({ ...cur, last_activity: atMs }));
    this.#pending.set(id, atMs);
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}
