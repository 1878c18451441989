// SealingKeyStore on SQLite: one row per key in `state_dir`'s database. The first process inserts
// its key (ON CONFLICT keeps one written meanwhile), so a restart, or another process on the same
// file, reads the same key.

import { checkedSealingKey, newSealingKey, type SealingKeyStore } from '../sealing-keys.js';
import type { Db } from './database.js';

const SCHEMA = 'CREATE TABLE IF NOT EXISTS sealing_keys (name TEXT PRIMARY KEY, key BLOB NOT NULL);';

export class SqliteSealingKeyStore implements SealingKeyStore {
  readonly #stmts;

  constructor(db: Db) {
    db.exec(SCHEMA);
    this.#stmts = {
      offer: db.prepare('INSERT INTO sealing_keys (name, key) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
      get: db.prepare('SELECT key FROM sealing_keys WHERE name = ?').pluck(),
    };
  }

  get(name: string): Buffer {
    this.#stmts.offer.run(name, newSealingKey());
    return checkedSealingKey(name, this.#stmts.get.get(name) as Buffer | undefined);
  }
}
