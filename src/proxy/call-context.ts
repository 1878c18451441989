// Everything known about one call once it is routed, identified and read.

import type { Phases } from '../observability/phases.js';
import type { RequestStateClaims } from '../mcp/request-state.js';
import type { McpInput, RequestInput } from '../policy/types.js';
import type { ReadBody } from './body.js';
import type { Principal } from './gates.js';
import type { Route } from './router.js';
import type { ClientLink } from './client-link.js';

export interface CallContext {
  readonly decisionId: string;
  /** Whether the agent is still connected. */
  readonly link: ClientLink;
  readonly route: Route;
  /** Normalized path after the prefix: what the policy sees and what is forwarded. */
  readonly path: string;
  /** Canonical query string with `?`, or empty. */
  readonly search: string;
  readonly method: string;
  /** What is decided on and forwarded (a 2026-07-28 retry without Warden's parts: src/proxy/mrtr.ts). */
  readonly body: ReadBody;
  readonly mcp: McpInput | undefined;
  /** Warden's verified `requestState` of a retried 2026-07-28 tools/call, prompts/get or resources/read (not yet checked against the call's digest). */
  readonly retry?: RequestStateClaims | undefined;
  readonly principal: Principal;
  readonly forwardHeaders: Record<string, string | string[]>;
  readonly request: RequestInput;
  /** Phase times for the trace, when tracing is on. */
  readonly phases?: Phases | undefined;
}
