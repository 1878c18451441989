// The stores of one process on its SQLite file in `state_dir`, with the in-process wake-up channel.

import { LocalApprovalEvents } from '../local/approval-events.js';
import type { Stores } from '../stores.js';
import type { StateSource } from '../transfer.js';
import { SqliteAgentStore } from './agent-store.js';
import { SqliteApprovalStore } from './approval-store.js';
import { SqliteCredentialStore } from './credential-store.js';
import { openDatabase } from './database.js';
import { SqliteSealingKeyStore } from './sealing-keys.js';
import { SqliteTaskStore } from './task-store.js';
import { SqliteToolPinStore } from './tool-pin-store.js';

export function openSqliteStores(stateDir: string): Stores & { readonly source: StateSource } {
  const db = openDatabase(stateDir);
  const tasks = new SqliteTaskStore(db);
  const approvalEvents = new LocalApprovalEvents();
  const agents = new SqliteAgentStore(db);
  const credentials = new SqliteCredentialStore(db);
  const approvals = new SqliteApprovalStore(db);
  return {
    source: { tasks: () => tasks.all(), approvals: () => approvals.all(), credentials: () => credentials.all() },
    tasks,
    usage: tasks,
    approvals,
    approvalEvents,
    agents,
    credentials,
    sealingKeys: new SqliteSealingKeyStore(db),
    toolPins: new SqliteToolPinStore(db),
    close: async () => {
      approvalEvents.close();
      tasks.close();
      agents.close();
      credentials.close();
      db.close();
    },
  };
}
