// CredentialStore on the embedded SQLite database (state_dir is created 0700). Rows are kept so
// that tokens minted before a restart are still revoked when their task ends.

import type { Db } from './database.js';
import type { CredentialStore, IssuedCredential, OAuthGrantKind } from '../credentials.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS issued_credentials (
  cache_key      TEXT PRIMARY KEY,
  id             TEXT NOT NULL,
  owner          TEXT NOT NULL,
  agent          TEXT NOT NULL,
  upstream       TEXT NOT NULL,
  lane           TEXT NOT NULL,
  kind           TEXT NOT NULL,
  token          TEXT NOT NULL,
  scope          TEXT,
  resource       TEXT,
  issued_at      INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL,
  owner_ends_at  INTEGER,
  revocation_url TEXT
);
CREATE INDEX IF NOT EXISTS issued_credentials_owner ON issued_credentials (owner);
CREATE INDEX IF NOT EXISTS issued_credentials_owner_ends_at ON issued_credentials (owner_ends_at);
`;

interface Row {
  cache_key: string;
  id: string;
  owner: string;
  agent: string;
  upstream: string;
  lane: string;
  kind: string;
  token: string;
  scope: string | null;
  resource: string | null;
  issued_at: number;
  expires_at: number;
  owner_ends_at: number | null;
  revocation_url: string | null;
}

function fromRow(r: Row): IssuedCredential {
  return {
    id: r.id,
    cache_key: r.cache_key,
    owner: r.owner,
    agent: r.agent,
    upstream: r.upstream,
    lane: r.lane,
    kind: r.kind as OAuthGrantKind,
    token: r.token,
    ...(r.scope !== null && { scope: r.scope }),
    ...(r.resource !== null && { resource: r.resource }),
    issued_at: r.issued_at,
    expires_at: r.expires_at,
    ...(r.owner_ends_at !== null && { owner_ends_at: r.owner_ends_at }),
    ...(r.revocation_url !== null && { revocation_url: r.revocation_url }),
  };
}

export class SqliteCredentialStore implements CredentialStore {
  readonly #stmt;
  readonly #take: (sql: 'owner' | 'ended', arg: string | number) => IssuedCredential[];
  readonly #put: (c: IssuedCredential) => IssuedCredential | undefined;

  constructor(db: Db) {
    db.exec(SCHEMA);
    this.#stmt = {
      get: db.prepare<[string], Row>('SELECT * FROM issued_credentials WHERE cache_key = ?'),
      upsert: db.prepare(
        `INSERT OR REPLACE INTO issued_credentials (cache_key, id, owner, agent, upstream, lane, kind, token, scope, resource, issued_at, expires_at, owner_ends_at, revocation_url)
         VALUES (@cache_key, @id, @owner, @agent, @upstream, @lane, @kind, @token, @scope, @resource, @issued_at, @expires_at, @owner_ends_at, @revocation_url)`,
      ),
      byOwner: db.prepare<[string], Row>('SELECT * FROM issued_credentials WHERE owner = ?'),
      every: db.prepare<[], Row>('SELECT * FROM issued_credentials ORDER BY issued_at'),
      delOwner: db.prepare('DELETE FROM issued_credentials WHERE owner = ?'),
      ended: db.prepare<[number], Row>('SELECT * FROM issued_credentials WHERE owner_ends_at IS NOT NULL AND owner_ends_at < ?'),
      delEnded: db.prepare('DELETE FROM issued_credentials WHERE owner_ends_at IS NOT NULL AND owner_ends_at < ?'),
    };
    const s = this.#stmt;
    this.#take = db.transaction((which: 'owner' | 'ended', arg: string | number) => {
      if (which === 'owner') {
        const rows = s.byOwner.all(arg as string);
        s.delOwner.run(arg);
        return rows.map(fromRow);
      }
      const rows = s.ended.all(arg as number);
      s.delEnded.run(arg);
      return rows.map(fromRow);
    });
    this.#put = db.transaction((c: IssuedCredential) => {
      const old = s.get.get(c.cache_key);
      s.upsert.run({ scope: null, resource: null, owner_ends_at: null, revocation_url: null, ...c });
      return old ? fromRow(old) : undefined;
    });
  }

  /** Every cached credential (`warden store migrate`). */
  all(): IssuedCredential[] {
    return this.#stmt.every.all().map(fromRow);
  }

  get(cacheKey: string): IssuedCredential | undefined {
    const row = this.#stmt.get.get(cacheKey);
    return row ? fromRow(row) : undefined;
  }

  put(cred: IssuedCredential): IssuedCredential | undefined {
    return this.#put(cred);
  }

  takeOwner(owner: string): IssuedCredential[] {
    return this.#take('owner', owner);
  }

  takeEnded(nowMs: number): IssuedCredential[] {
    return this.#take('ended', nowMs);
  }

  close(): void {
    // Nothing is buffered: every write is committed at once.
  }
}
