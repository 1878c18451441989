// Every piece of state Warden keeps, as the composition root hands it to the domains. A new
// backend (Redis for a fleet) is a new `open…Stores` beside store/sqlite/open.ts.

import type { AgentStore } from './agents.js';
import type { ApprovalEvents, ApprovalStore } from './approvals.js';
import type { CredentialStore } from './credentials.js';
import type { KeyRing } from './keys.js';
import type { SealingKeyStore } from './sealing-keys.js';
import type { TaskStore, UsageStore } from './tasks.js';
import type { ToolPinStore } from './tool-pins.js';

export interface Stores {
  readonly tasks: TaskStore;
  readonly usage: UsageStore;
  readonly approvals: ApprovalStore;
  /** Wakes requests held for an approval decision. */
  readonly approvalEvents: ApprovalEvents;
  /** The agent registry. */
  readonly agents: AgentStore;
  /** Just-in-time downstream tokens per task and lane (shared, so any process can revoke them). */
  readonly credentials: CredentialStore;
  /** The fleet's published task-token keys (shared stores only). */
  readonly keys?: KeyRing;
  /** Keys Warden seals its MCP `requestState` with: one per store, so shared by a fleet and kept across restarts. */
  readonly sealingKeys: SealingKeyStore;
  /** MCP tool definitions seen and their pins (trust on first use). */
  readonly toolPins: ToolPinStore;
  /** Writes what is pending and releases the backend; call after every user of the stores stopped. */
  close(): Promise<void>;
}
