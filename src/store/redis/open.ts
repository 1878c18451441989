// The stores of a fleet member on the shared Redis (`store.kind: redis`).

import type { Stores } from '../stores.js';
import { RedisAgentStore } from './agent-store.js';
import { RedisApprovalEvents } from './approval-events.js';
import { RedisApprovalStore } from './approval-store.js';
import { RedisLink } from './link.js';
import { RedisCredentialStore } from './credential-store.js';
import { RedisKeyRing } from './key-ring.js';
import { RedisTaskStore } from './task-store.js';
import { RedisToolPinStore } from './tool-pin-store.js';

export interface RedisStoreOptions {
  readonly url: string;
  readonly prefix: string;
  readonly maxStalenessMs: number;
}

export async function openRedisStores(opts: RedisStoreOptions): Promise<Stores & { readonly link: RedisLink }> {
  const link = await RedisLink.connect(opts);
  const tasks = new RedisTaskStore(link);
  const approvalEvents = new RedisApprovalEvents(link);
  return {
    link,
    tasks,
    usage: tasks,
    approvals: new RedisApprovalStore(link),
    approvalEvents,
    agents: new RedisAgentStore(link),
    credentials: new RedisCredentialStore(link),
    keys: new RedisKeyRing(link),
    toolPins: new RedisToolPinStore(link),
    close: async () => {
      approvalEvents.close();
      tasks.close();
      await link.close();
    },
  };
}
