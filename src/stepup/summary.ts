// What the approver is shown of a call. Headers are left out entirely (they carry credentials),
// query values under secret-looking names are masked, and of the body only a preview of at most
// `step_up.body_preview_bytes` (default 0: none) is sent outside the pod.

import { Buffer } from 'node:buffer';
import { applyMasks, type MaskPath } from '../audit/mask.js';
import type { AgentInput, McpInput, RequestInput, TaskInput } from '../policy/types.js';

// A type alias, not an interface, so it is assignable to Record<string, unknown>.
export type RequestSummary = {
  task_id?: string;
  stage?: string;
  user_id?: string;
  agent_id?: string;
  upstream: string;
  method: string;
  path: string;
  query: Record<string, string[]>;
  body_digest: string;
  content_type?: string;
  size: number;
  mcp?: { method: string; tool?: string; name?: string; uri?: string };
  body_preview?: string;
  body_truncated?: boolean;
};

// Agents get API keys put into query strings by SDKs (`?access_token=`, `?api_key=`): mask them.
const SECRET_QUERY = /token|secret|passw|api[-_]?key|signature|^sig$|auth|credential|session|^key$|^code$/i;
export const REDACTED = '**REDACTED**';

export function maskQuery(query: Record<string, string[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(query)) out[k] = SECRET_QUERY.test(k) ? v.map(() => REDACTED) : [...v];
  return out;
}

/** At most `maxBytes` of `body` as text; the cut may split a UTF-8 character (shown as U+FFFD). */
export function bodyPreview(body: Uint8Array | string | undefined, maxBytes: number): { body_preview?: string; body_truncated?: boolean } {
  if (maxBytes <= 0 || body === undefined || body.length === 0) return {};
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const cut = bytes.subarray(0, maxBytes);
  return { body_preview: cut.toString('utf8'), body_truncated: bytes.length > maxBytes };
}

/** The summary of a call for the approval record and the webhook event. */
export function buildSummary(
  input: { request: RequestInput; mcp?: McpInput; task?: TaskInput; agent?: AgentInput },
  rawBody: Uint8Array | undefined,
  previewBytes: number,
): RequestSummary {
  const { request } = input;
  const s: RequestSummary = {
    upstream: request.upstream,
    method: request.method,
    path: request.path,
    query: maskQuery(request.query),
    body_digest: request.body_digest,
    size: request.size,
  };
  if (input.task) {
    s.task_id = input.task.id;
    s.stage = input.task.stage;
    s.user_id = input.task.user.id;
  }
  if (input.agent) s.agent_id = input.agent.id;
  if (request.content_type !== undefined) s.content_type = request.content_type;
  if (input.mcp) {
    // The call's target, so the approver sees which tool, prompt or resource (the console shows it).
    const { method, tool, name, uri } = input.mcp;
    s.mcp = { method: method ?? '', ...(tool !== undefined && { tool }), ...(name !== undefined && { name }), ...(uri !== undefined && { uri }) };
  }
  return { ...s, ...bodyPreview(rawBody, previewBytes) };
}

// A type alias, not an interface, so it is assignable to Record<string, unknown>.
export type ApprovalDetail = {
  task_risk?: string;
  /** The MCP tool's arguments with `decision_log.mask` applied (`input.mcp.arguments.<key>`). */
  mcp_arguments?: unknown;
  /** Set instead of `mcp_arguments` when they are larger than the console shows. */
  mcp_arguments_bytes?: number;
};

const MAX_DETAIL_ARGUMENTS = 16 * 1024;

/**
 * What the console shows beyond the summary. It stays in the pod (the admin listener is the
 * operator's), so unlike the webhook event it may carry the tool's arguments: an approver must
 * see what the call does. Masked like the decision log, and bounded.
 */
export function buildDetail(input: { mcp?: McpInput; task?: TaskInput }, masks: readonly MaskPath[]): ApprovalDetail {
  const d: ApprovalDetail = {};
  if (input.task) d.task_risk = input.task.risk;
  if (input.mcp?.arguments !== undefined) {
    const args = applyMasks({ mcp: { arguments: input.mcp.arguments } }, masks).mcp.arguments;
    const size = Buffer.byteLength(JSON.stringify(args) ?? '', 'utf8');
    if (size > MAX_DETAIL_ARGUMENTS) d.mcp_arguments_bytes = size;
    else d.mcp_arguments = args;
  }
  return d;
}
