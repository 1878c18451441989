// The stores of a fleet member on the shared Redis (`store.kind: redis`).

import type { Stores } from '../stores.js';
import type { StateSink } from '../transfer.js';
import { RedisAgentStore } from './agent-store.js';
import { RedisApprovalEvents } from './approval-events.js';
import { RedisApprovalStore } from './approval-store.js';
import { RedisLink } from './link.js';
import { RedisCredentialStore } from './credential-store.js';
import { RedisKeyRing } from './key-ring.js';
import { RedisSealingKeyStore } from './sealing-keys.js';
import { RedisTaskStore } from './task-store.js';
import { RedisToolPinStore } from './tool-pin-store.js';

export interface RedisStoreOptions {
  readonly url: string;
  readonly prefix: string;
  readonly maxStalenessMs: number;
}

export async function openRedisStores(opts: RedisStoreOptions): Promise<Stores & { readonly link: RedisLink; readonly sink: StateSink }> {
  const link = await RedisLink.connect(opts);
  const tasks = new RedisTaskStore(link);
  const approvalEvents = new RedisApprovalEvents(link);
  const approvals = new RedisApprovalStore(link);
  const toolPins = new RedisToolPinStore(link);
  return {
    link,
    sink: {
      importTask: (t) => tasks.importTask(t),
      importApproval: (a) => approvals.importApproval(a),
      importToolPin: (r) => toolPins.importToolPin(r),
    },
    tasks,
    usage: tasks,
    approvals,
    approvalEvents,
    agents: new RedisAgentStore(link),
    credentials: new RedisCredentialStore(link),
    keys: new RedisKeyRing(link),
    sealingKeys: new RedisSealingKeyStore(link),
    toolPins,
    close: async () => {
      approvalEvents.close();
      tasks.close();
      await link.close();
    },
  };
}
