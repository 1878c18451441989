// What the request path needs from the identity and task domains. The sidecar wires the real
// implementations; the proxy depends only on these shapes (step-up's is src/stepup/gate.ts).

import type { IncomingHttpHeaders } from 'node:http';
import type { AgentInput, TaskInput } from '../policy/types.js';

export interface Principal {
  readonly agent: AgentInput;
  readonly task?: TaskInput;
}

export interface IdentityGate {
  /** Verify the caller; throws TOKEN_* coded errors. */
  authenticate(headers: IncomingHttpHeaders): Promise<Principal>;
}

export interface UsageGate {
  /** Count a forwarded call against the task (and its current stage). */
  recordCall(taskId: string, stage: string): void;
}
