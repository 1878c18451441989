// The MCP 2026-07-28 step-up on the request path (DESIGN.md "Proxy responses", "Step-up"). A
// client that negotiated 2026-07-28 gets a step-up of a tools/call, prompts/get or resources/read
// (INPUT_REQUIRED_METHODS) as an `input_required` result (src/mcp/mrtr.ts) whose `requestState`
// Warden seals (src/mcp/request-state.ts): bound to the task, the call's binding digest, the
// approval and an expiry. Its retry is opened here before the policy runs; the policy and the
// upstream see the call without Warden's parts. Once an approval is spent on a call, each
// `input_required` round the server answers is sealed as a continuation of that call, so its
// later rounds run on the same approval.

import { Buffer } from 'node:buffer';
import { WardenError } from '../errors.js';
import { INPUT_REQUIRED_METHODS, isModernVersion, retryState, stepUpInputRequired, unwrapRetry } from '../mcp/mrtr.js';
import { isWardenRequestState, openRequestState, sealRequestState, type RequestStateClaims } from '../mcp/request-state.js';
import type { McpInput } from '../policy/types.js';
import type { Principal } from './gates.js';

const MESSAGE = 'A human must approve this request. Open the link to review it; the request continues once it is approved.';

/** Whether this is a request whose result may be `input_required` (and which is retried after it). */
function multiRoundTrip(mcp: McpInput | undefined): mcp is McpInput {
  return mcp?.kind === 'request' && mcp.method !== undefined && INPUT_REQUIRED_METHODS.has(mcp.method);
}

/** Whether a step-up of this request is answered the 2026-07-28 way (`input_required`). */
export function answersInputRequired(mcp: McpInput | undefined): boolean {
  return multiRoundTrip(mcp) && isModernVersion(mcp.protocol_version);
}

/** Whom a state is bound to: the task, or the agent when the identity carries no task. */
export function stateOwner(p: Principal): string {
  return p.task?.id ?? `agent:${p.agent.id}`;
}

export interface VerifiedRetry {
  readonly claims: RequestStateClaims;
  /** The body to decide on and forward: Warden's input response and state removed, the server's own state back. */
  readonly body: Buffer;
}

/**
 * Warden's `requestState` on a retried tools/call, prompts/get or resources/read, verified
 * (integrity, expiry, owner); undefined when the call carries none of Warden's. The binding to
 * the call is checked by the caller, who has its digest. Throws MCP_REQUEST_STATE_INVALID.
 */
export function openRetry(key: Buffer, mcp: McpInput | undefined, body: unknown, owner: string, now: number): VerifiedRetry | undefined {
  if (!multiRoundTrip(mcp)) return undefined;
  const state = retryState(body);
  if (!isWardenRequestState(state)) return undefined;
  const opened = openRequestState(key, state, now);
  if (!opened.ok) throw new WardenError('MCP_REQUEST_STATE_INVALID', opened.why);
  if (opened.claims.task !== owner) throw new WardenError('MCP_REQUEST_STATE_INVALID', 'issued to another task');
  return { claims: opened.claims, body: Buffer.from(JSON.stringify(unwrapRetry(body as Record<string, unknown>, opened.claims.inner))) };
}

export interface Binding {
  readonly key: Buffer;
  readonly owner: string;
  /** Binding digest of the call. */
  readonly call: string;
  readonly approval: string;
}

/** The `input_required` answer to a pending step-up: the approval's page and the state waiting for it. */
export function pendingInputRequired(b: Binding, a: { id: McpInput['id']; url: string; expiresAtMs: number; retried: RequestStateClaims | undefined }): string {
  const requestState = sealRequestState(b.key, { task: b.owner, call: b.call, approval: b.approval, exp: a.expiresAtMs });
  // A retry still waiting on the same approval gets the state only (the client paces its retries).
  return stepUpInputRequired({ id: a.id, url: a.url, message: MESSAGE, requestState, elicit: a.retried?.approval !== b.approval });
}

/** Seals the server's next round of an approved call as its continuation, valid for `ttlMs`. */
export function roundSealer(b: Binding, ttlMs: number, now: () => number): (inner: string | undefined) => string {
  return (inner) => sealRequestState(b.key, { task: b.owner, call: b.call, approval: b.approval, exp: now() + ttlMs, continuation: true, ...(inner !== undefined && { inner }) });
}
