// Copies a state into another store (`warden store migrate --from sqlite --to redis`): agents,
// tasks with their revocations and call counts, approvals in their state, just-in-time
// credentials, tool pins and the former signer's task key. A record the target holds already is
// left as it is, except that a revocation is carried over (revocations only move forward), so a
// second run copies nothing twice and undoes nothing the fleet did meanwhile.

import type { PublishedKey } from './keys.js';
import type { Stores } from './stores.js';
import type { StateSink, StateSource } from './transfer.js';

export interface Copied {
  /** Written into the target. */
  copied: number;
  /** Held by the target already (left as it was). */
  present: number;
}

export interface MigrationReport {
  readonly agents: Copied;
  readonly tasks: Copied;
  /** Revoked tasks among them, and revocations carried onto tasks the target held unrevoked. */
  readonly revocations: number;
  /** Forwarded calls counted on the copied tasks. */
  readonly calls: number;
  readonly approvals: Copied;
  readonly credentials: Copied;
  readonly tool_pins: Copied;
  readonly keys: Copied;
}

const count = (): Copied => ({ copied: 0, present: 0 });
const tally = (c: Copied, written: boolean): void => {
  if (written) c.copied += 1;
  else c.present += 1;
};

export async function migrateState(
  from: Stores & { readonly source: StateSource },
  to: Stores & { readonly sink: StateSink },
  /** The former signer's task key: published so that its tokens verify until they expire. */
  formerKey?: PublishedKey,
): Promise<MigrationReport> {
  const r = { agents: count(), tasks: count(), revocations: 0, calls: 0, approvals: count(), credentials: count(), tool_pins: count(), keys: count() };
  for (const agent of await from.agents.list()) tally(r.agents, await to.agents.create(agent));
  for (const task of from.source.tasks()) {
    const written = await to.sink.importTask(task);
    tally(r.tasks, written);
    const revokedAt = task.record.revoked_at;
    if (written) {
      r.calls += Object.values(task.stageCalls).reduce((a, b) => a + b, 0);
      if (revokedAt !== undefined) r.revocations += 1;
    } else if (revokedAt !== undefined && await to.tasks.revoke(task.record.id, revokedAt)) {
      r.revocations += 1;
    }
  }
  for (const approval of from.source.approvals()) tally(r.approvals, await to.sink.importApproval(approval));
  for (const cred of from.source.credentials()) {
    const held = (await to.credentials.get(cred.cache_key)) !== undefined;
    if (!held) await to.credentials.put(cred);
    tally(r.credentials, !held);
  }
  for (const pin of await from.toolPins.list()) tally(r.tool_pins, await to.sink.importToolPin(pin));
  if (formerKey && to.keys) {
    const held = (await to.keys.list(Date.now())).some((k) => k.kid === formerKey.kid);
    if (!held) await to.keys.announce(formerKey);
    tally(r.keys, !held);
  }
  return r;
}

/** The report as the command prints it: one line per kind of record. */
export function formatReport(r: MigrationReport): string {
  const line = (name: string, c: Copied, extra = ''): string => `${name.padEnd(12)} ${String(c.copied).padStart(6)} copied, ${String(c.present).padStart(6)} already present${extra}`;
  return [
    line('agents', r.agents),
    line('tasks', r.tasks, ` (${r.revocations} revocations, ${r.calls} counted calls)`),
    line('approvals', r.approvals),
    line('credentials', r.credentials),
    line('tool pins', r.tool_pins),
    line('task keys', r.keys),
  ].join('\n');
}
