// Moving a whole state from one backend to another (`warden store migrate --from sqlite --to
// redis`). What the store ports (agents, tasks, approvals, ...) cannot say, because the request
// path never needs it, is here: every record of a store, and writes that keep a record exactly as
// it is (its status, its counters, its pin). A source reads everything; a sink writes a record
// only when the target does not hold it yet, so that a migration can be run again safely.

import type { Approval } from './approvals.js';
import type { IssuedCredential } from './credentials.js';
import type { TaskRecord } from './tasks.js';
import type { ToolRecord } from './tool-pins.js';

/** A task with its call counts per stage. */
export interface StoredTask {
  readonly record: TaskRecord;
  readonly stageCalls: Readonly<Record<string, number>>;
}

/** Every record of a state (agents come from AgentStore.list, tool pins from ToolPinStore.list). */
export interface StateSource {
  tasks(): StoredTask[];
  approvals(): Approval[];
  credentials(): IssuedCredential[];
}

/** Writes a record as it is, when the target does not hold it yet; true when it was written. */
export interface StateSink {
  /** The task with its revocation and its call counts. */
  importTask(task: StoredTask): Promise<boolean>;
  /** The approval in its state (pending, approved, denied, used, ...). */
  importApproval(approval: Approval): Promise<boolean>;
  importToolPin(record: ToolRecord): Promise<boolean>;
}
