// What the pipeline decided about one request: one value, answered and recorded by the handler
// from one exhaustive switch. `known` carries what was learned before the pipeline stopped, so a
// request refused by the router is recorded with less than one refused by the policy.

import type { CredentialLog } from '../credentials/lane-credentials.js';
import type { ErrorCode, WardenError } from '../errors.js';
import type { Decision, McpInput, PolicyInput } from '../policy/types.js';
import type { CallContext } from './call-context.js';
import type { DenyAnswer } from './respond.js';

/** One policy evaluation, as the decision log records it. */
export interface Evaluation {
  readonly input: PolicyInput;
  /** `input` serialized, as the policy received it. */
  readonly inputJson: string;
  readonly revision: string | undefined;
  readonly evalNs: number;
  /** The decision, or the coded error the evaluation ended in. */
  readonly result: { readonly ok: true; readonly decision: Decision } | { readonly ok: false; readonly error: WardenError };
}

/** Facts about the request gathered before the outcome. */
export interface Known {
  readonly upstream?: string;
  readonly agent?: string;
  readonly task?: string;
  readonly stage?: string;
  /** The last evaluation (a granted step-up evaluates twice). */
  readonly evaluation?: Evaluation;
  readonly approval?: string;
  readonly lane?: string;
  /** Which credential the lane injected (never its value). */
  readonly credential?: CredentialLog;
  /** `input.mcp` of a request to an MCP upstream, once known (its errors are answered in JSON-RPC). */
  readonly mcp?: McpInput;
}

/**
 * `known` with the facts of `more` added. Spelled out field by field rather than `{ ...known, ...more }`:
 * on Node 20's V8 a property added after a spread gave these objects a hidden class of their own on
 * every request (V8's map log showed it; a small example does not), allocated in the old generation,
 * and every site that read them then saw a new class each request (bench/HISTORY.md, "Issue 15: a
 * hidden class per request"). All fields are always present here, so every Known built by it shares
 * one class.
 */
export function learn(known: Known, more: Known): Known {
  return {
    upstream: more.upstream ?? known.upstream,
    agent: more.agent ?? known.agent,
    task: more.task ?? known.task,
    stage: more.stage ?? known.stage,
    evaluation: more.evaluation ?? known.evaluation,
    approval: more.approval ?? known.approval,
    lane: more.lane ?? known.lane,
    credential: more.credential ?? known.credential,
    mcp: more.mcp ?? known.mcp,
  };
}

export type Outcome =
  /** Send it upstream with `headers` (the agent's, the policy's, the lane's credential): an allow, or any decision in dry-run mode. */
  | {
      readonly kind: 'forward';
      readonly mode: 'allow' | 'dry_run';
      readonly known: Known;
      readonly call: CallContext;
      readonly headers: Record<string, string | string[]>;
      /** Seals the server's next round of an approved MCP 2026-07-28 call (src/mcp/mrtr.ts). */
      readonly seal?: (inner: string | undefined) => string;
    }
  /** A 403, or for MCP a JSON-RPC error; `error` names the cause when it is not simply the policy's deny. */
  | { readonly kind: 'refuse'; readonly known: Known; readonly mcp: McpInput | undefined; readonly code: DenyAnswer['code']; readonly reason: string | undefined; readonly error?: ErrorCode }
  /** A human must approve first (RFC 9470 challenge, or its JSON-RPC twin). */
  | { readonly kind: 'challenge'; readonly known: Known; readonly mcp: McpInput | undefined; readonly approvalId: string; readonly expiresAt: string; readonly reason: string | undefined; readonly inputRequired?: string }
  /** A coded error answer; `closeConnection` while draining. */
  | { readonly kind: 'error'; readonly known: Known; readonly error: WardenError; readonly closeConnection?: boolean }
  /** The agent went away while the request was held: nothing to answer. */
  | { readonly kind: 'client_gone'; readonly known: Known };
