// The embedded database behind tasks, usage and approvals: one SQLite file in `state_dir`.
// WAL with synchronous=NORMAL keeps every committed write across a process crash (kill -9);
// each domain creates its own tables (`CREATE TABLE IF NOT EXISTS`) in its store module.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export function openDatabase(stateDir: string, file = 'warden.db'): Db {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(stateDir, file));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}
