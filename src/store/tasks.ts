// The task store: tasks and their revocation, read on every request; the usage store: call counts
// per task and stage, counted on every forwarded request. SQLite implements both today
// (store/sqlite/task-store.ts); a fleet store (Redis) is another file implementing these.

import type { TaskUsage } from '../policy/types.js';
import type { Awaitable } from './awaitable.js';

export interface TaskUser {
  id: string;
  [k: string]: unknown;
}

export interface TaskRecord {
  readonly id: string;
  readonly agent: string;
  readonly user: Readonly<TaskUser>;
  readonly stage: string;
  readonly risk: string;
  readonly scopes: readonly string[];
  /** Epoch milliseconds. */
  readonly created_at: number;
  readonly expires_at: number;
  readonly revoked_at?: number;
}

export interface TaskPatch {
  stage?: string;
  risk?: string;
}

/**
 * Records handed out are frozen (a caller that mutates policy input cannot corrupt a cache).
 * `get` is on the request path: an implementation should answer it from memory when it can.
 */
export interface TaskStore {
  /** Fails when the id exists. */
  create(rec: TaskRecord): Awaitable<void>;
  get(id: string): Awaitable<TaskRecord | undefined>;
  /** The updated record, or undefined when the task does not exist. */
  update(id: string, patch: TaskPatch): Awaitable<TaskRecord | undefined>;
  /**
   * Revocation: true when this call revoked the task; false when it was revoked already or is
   * unknown. Durable before it resolves (a crash right after must not bring the task back), and
   * seen by every reader of the store from then on.
   */
  revoke(id: string, atMs: number): Awaitable<boolean>;
  /** Tasks neither revoked nor expired at `nowMs` (the agent inventory, suspending an agent). */
  live(nowMs: number): Awaitable<TaskRecord[]>;
  /** Deletes tasks that expired before `nowMs`, with their usage; returns how many. */
  purgeExpired(nowMs: number): Awaitable<number>;
  /** Writes what is pending and stops background work; the store is unusable afterwards. */
  close(): Awaitable<void>;
}

export interface UsageStore {
  /**
   * Counts one forwarded call of the task in `stage`. Fire and forget: on the request path, so it
   * never waits; the store may batch writes and must swallow (and may report) write failures.
   * Counts of an unknown task are dropped.
   */
  recordCall(id: string, stage: string): void;
  /** Calls of the task in total and in `stage`, including counts not yet written. */
  usage(id: string, stage: string): Awaitable<TaskUsage>;
}

/** The task domain's state: tasks with their revocations, and their call counts. */
export interface TaskStores {
  readonly tasks: TaskStore;
  readonly usage: UsageStore;
}

/** What the request path reads of a task: the record and its usage. */
export interface TaskLookup {
  readonly tasks: Pick<TaskStore, 'get'>;
  readonly usage: Pick<UsageStore, 'usage'>;
}
