// ToolPinStore on SQLite, with the records cached in memory: `get` is on the request path of every
// tools/call. The first observation inserts the pin (INSERT ... ON CONFLICT keeps an existing
// one), so trust on first use holds across restarts and processes sharing the file.

import type { ToolPinStore, ToolRecord } from '../tool-pins.js';
import type { Db } from './database.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tool_pins (
  upstream TEXT NOT NULL,
  tool TEXT NOT NULL,
  seen TEXT NOT NULL,
  pin TEXT NOT NULL,
  first_seen_at INTEGER NOT NULL,
  seen_at INTEGER NOT NULL,
  pinned_at INTEGER NOT NULL,
  PRIMARY KEY (upstream, tool)
);
`;

const key = (upstream: string, tool: string): string => `${upstream}\u0000${tool}`;

export class SqliteToolPinStore implements ToolPinStore {
  readonly #cache = new Map<string, ToolRecord>();
  readonly #stmts;

  constructor(db: Db) {
    db.exec(SCHEMA);
    this.#stmts = {
      observe: db.prepare(`INSERT INTO tool_pins (upstream, tool, seen, pin, first_seen_at, seen_at, pinned_at) VALUES (@upstream, @tool, @digest, @digest, @now, @now, @now)
        ON CONFLICT (upstream, tool) DO UPDATE SET seen = excluded.seen, seen_at = excluded.seen_at RETURNING *`),
      pin: db.prepare('UPDATE tool_pins SET pin = seen, pinned_at = @now WHERE upstream = @upstream AND tool = @tool RETURNING *'),
      all: db.prepare('SELECT * FROM tool_pins ORDER BY upstream, tool'),
    };
    for (const r of this.#stmts.all.all() as ToolRecord[]) this.#cache.set(key(r.upstream, r.tool), Object.freeze({ ...r }));
  }

  get(upstream: string, tool: string): ToolRecord | undefined {
    return this.#cache.get(key(upstream, tool));
  }

  observe(upstream: string, tool: string, digest: string, atMs: number): ToolRecord {
    const cached = this.#cache.get(key(upstream, tool));
    if (cached && cached.seen === digest) return cached; // nothing new: no write per listing
    const row = Object.freeze({ ...(this.#stmts.observe.get({ upstream, tool, digest, now: atMs }) as ToolRecord) });
    this.#cache.set(key(upstream, tool), row);
    return row;
  }

  pin(upstream: string, tool: string, atMs: number): ToolRecord | undefined {
    const row = this.#stmts.pin.get({ upstream, tool, now: atMs }) as ToolRecord | undefined;
    if (!row) return undefined;
    const rec = Object.freeze({ ...row });
    this.#cache.set(key(upstream, tool), rec);
    return rec;
  }

  list(): readonly ToolRecord[] {
    return [...this.#cache.values()].sort((a, b) => a.upstream.localeCompare(b.upstream) || a.tool.localeCompare(b.tool));
  }
}
