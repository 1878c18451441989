// The just-in-time credential cache's port: downstream tokens minted per task and lane. Shared by
// a fleet (Redis), so that whichever sidecar or control plane ends a task can revoke (RFC 7009)
// the tokens another sidecar minted for it. The SQLite adapter is in sqlite/credential-store.ts.
// Token values are held here and nowhere else; they never reach a log.

import type { Awaitable } from './awaitable.js';

export type OAuthGrantKind = 'client_credentials' | 'token_exchange';

export interface IssuedCredential {
  /** Warden's identifier of this credential: what the decision log records. */
  readonly id: string;
  /** What the token is cached under: owner, upstream, lane and the narrowed scope and resource. */
  readonly cache_key: string;
  /** The task it was minted for (`agent:<id>` for a call without a task). */
  readonly owner: string;
  readonly agent: string;
  readonly upstream: string;
  readonly lane: string;
  readonly kind: OAuthGrantKind;
  readonly token: string;
  readonly scope?: string;
  readonly resource?: string;
  /** Epoch milliseconds. */
  readonly issued_at: number;
  /** Epoch milliseconds: the token's own expiry (never after the task's end). */
  readonly expires_at: number;
  /** When the owning task ends (epoch ms); the token is revoked then. */
  readonly owner_ends_at?: number;
  /** RFC 7009 endpoint; absent when the lane has none (the token then only expires). */
  readonly revocation_url?: string;
}

export interface CredentialStore {
  get(cacheKey: string): Awaitable<IssuedCredential | undefined>;
  /** Stores `cred`, replacing what was cached under its key; returns the replaced one. */
  put(cred: IssuedCredential): Awaitable<IssuedCredential | undefined>;
  /** Removes and returns every credential of an owner (a task, or `agent:<id>`). */
  takeOwner(owner: string): Awaitable<IssuedCredential[]>;
  /** Removes and returns every credential whose owner ended before `nowMs`. */
  takeEnded(nowMs: number): Awaitable<IssuedCredential[]>;
  close(): Awaitable<void>;
}
