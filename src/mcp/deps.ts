// What the request path needs of the MCP domain, built once per sidecar (src/sidecar.ts).

import type { ToolRegistry } from './tool-registry.js';
import type { ServerRequests } from './server-requests.js';

export interface McpDeps {
  readonly tools: ToolRegistry;
  readonly serverRequests: ServerRequests;
  /** HMAC key of Warden's MRTR `requestState`, from the store (store/sealing-keys.ts): the fleet's one, kept across restarts. */
  readonly stateKey: Buffer;
  /** The approval's page, carried by the URL elicitation of a 2026-07-28 step-up. */
  readonly approvalUrl: (approvalId: string) => string | undefined;
  /** Clock of `requestState` expiry in unix ms (the sidecar's `now`: tests move it instead of sleeping). */
  readonly now: () => number;
}
