// The agent registry's port: agents as non-human identities (owner, scope ceiling, lifecycle) and
// the external subjects that map to them. Methods answer Awaitable (store/awaitable.ts) so that a
// shared store (Redis, for a fleet) fits behind it; the SQLite adapter is in sqlite/agent-store.ts.

import type { Awaitable } from './awaitable.js';

export type AgentStatus = 'active' | 'suspended' | 'retired';

export interface AgentSubject {
  /** The `iss` of the external token (or the configured issuer's name). */
  readonly issuer: string;
  /** Its `sub`, e.g. a SPIFFE id. */
  readonly subject: string;
}

export interface AgentRecord {
  readonly id: string;
  readonly owner: string;
  readonly description?: string;
  /** The scope ceiling: a task's scopes must lie within these. */
  readonly scopes: readonly string[];
  /** The highest task risk allowed; absent: any. */
  readonly max_risk?: string;
  readonly status: AgentStatus;
  readonly subjects: readonly AgentSubject[];
  /** Epoch milliseconds. */
  readonly created_at: number;
  readonly updated_at: number;
  /** The last authenticated call or task creation; absent when never used. */
  readonly last_activity?: number;
}

export interface AgentPatch {
  owner?: string;
  scopes?: readonly string[];
  status?: AgentStatus;
  updated_at: number;
}

export interface AgentStore {
  /** False when the id, or one of the subjects, is registered already (nothing is written then). */
  create(rec: AgentRecord): Awaitable<boolean>;
  get(id: string): Awaitable<AgentRecord | undefined>;
  /** The agent an external subject maps to. */
  bySubject(issuer: string, subject: string): Awaitable<AgentRecord | undefined>;
  list(): Awaitable<AgentRecord[]>;
  /** The updated record, or undefined when the agent does not exist. */
  update(id: string, patch: AgentPatch): Awaitable<AgentRecord | undefined>;
  /** Notes activity of the agent; written within the store's flush interval (hot path). */
  touch(id: string, atMs: number): void;
  /** Writes what is pending and stops background work. */
  close(): Awaitable<void>;
}
