// Step-up the MCP 2026-07-28 way (multi round-trip requests, MRTR). A client that negotiated
// 2026-07-28 gets a step-up as an `input_required` result: a URL-mode elicitation pointing at the
// approval's page, and a `requestState` that Warden seals (src/mcp/request-state.ts) and binds to
// the task, the exact call and the approval. The client's retry echoes it; once the approval is
// granted the call goes upstream without Warden's parts. When the upstream itself continues an
// approved call over several rounds, its `requestState` is sealed inside Warden's, so every round
// of that one call runs on the one approval, and the server gets its own state back.

import type { JsonRpcMessage } from './response-rewrite.js';

/** The key of Warden's own entry in `inputRequests` / `inputResponses`. */
export const APPROVAL_INPUT_KEY = 'warden-approval';
const MODERN = '2026-07-28';

/**
 * The requests whose result may be `input_required` in 2026-07-28 (the spec's multi round-trip
 * requests; the 2.x SDK's EXTENDED_RESULT_TYPE_METHODS). Its client retries whatever answers
 * `input_required`, but its server, like the spec, allows it only on these; any other request
 * stepped up is answered -32011.
 */
export const INPUT_REQUIRED_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether a protocol version is of the 2026-07-28 era or later (date-ordered versions). */
export function isModernVersion(v: string | undefined): boolean {
  return v !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(v) && v >= MODERN;
}

export interface StepUpInputRequired {
  readonly id: string | number | null | undefined;
  readonly url: string;
  readonly message: string;
  readonly requestState: string;
  /** Repeat the elicitation (first answer) or only the state (a retry while still pending). */
  readonly elicit: boolean;
}

/** The JSON-RPC answer that asks the client to get the call approved at `url`. */
export function stepUpInputRequired(a: StepUpInputRequired): string {
  const result: Record<string, unknown> = { resultType: 'input_required', requestState: a.requestState };
  if (a.elicit) result.inputRequests = { [APPROVAL_INPUT_KEY]: { method: 'elicitation/create', params: { mode: 'url', message: a.message, url: a.url } } };
  return JSON.stringify({ jsonrpc: '2.0', id: a.id ?? null, result });
}

/** The `requestState` a retried request carries, if any. */
export function retryState(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.params)) return undefined;
  return typeof body.params.requestState === 'string' ? body.params.requestState : undefined;
}

/**
 * The body to forward once Warden's state is verified: Warden's own input response removed, and
 * the server's own `requestState` (sealed inside Warden's) put back, or none.
 */
export function unwrapRetry(body: Record<string, unknown>, inner: string | undefined): Record<string, unknown> {
  const params = { ...(body.params as Record<string, unknown>) };
  if (inner === undefined) delete params.requestState;
  else params.requestState = inner;
  if (isObject(params.inputResponses)) {
    const { [APPROVAL_INPUT_KEY]: _ours, ...rest } = params.inputResponses;
    if (Object.keys(rest).length > 0) params.inputResponses = rest;
    else delete params.inputResponses;
  }
  return { ...body, params };
}

/**
 * Seal the server's `requestState` of an `input_required` result answering `requestId` inside
 * Warden's own, so the next round is known as the continuation of this approved call.
 */
export function wrapServerRound(msg: JsonRpcMessage, requestId: unknown, seal: (inner: string | undefined) => string): JsonRpcMessage {
  if (msg.id !== requestId || !isObject(msg.result) || msg.result.resultType !== 'input_required') return msg;
  const inner = typeof msg.result.requestState === 'string' ? msg.result.requestState : undefined;
  return { ...msg, result: { ...msg.result, requestState: seal(inner) } };
}
