// Every answer Warden itself gives the agent. Bodies carry a code and the decision id, never
// request data or internal error text (DESIGN.md "Proxy responses"). For an MCP request, deny and
// step-up are the MCP domain's JSON-RPC answers (src/mcp/answers.ts).

import type { ServerResponse } from 'node:http';
import { ERRORS, type WardenError } from '../errors.js';
import type { McpInput } from '../policy/types.js';
import { mcpAnswer } from '../mcp/answers.js';

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}

function quote(s: string): string {
  return s.replace(/["\\\r\n]/g, ' ');
}

/** A coded error: its status and fixed message. 401s carry the RFC 6750 challenge. */
export function sendError(res: ServerResponse, err: WardenError, decisionId: string, extraHeaders: Record<string, string> = {}): void {
  const headers: Record<string, string> = { 'warden-decision-id': decisionId, ...extraHeaders };
  if (err.code === 'TOKEN_MISSING') headers['www-authenticate'] = 'Bearer realm="warden"';
  else if ((err.status === 401 && (err.code.startsWith('TOKEN_') || err.code.startsWith('AGENT_'))) || err.code === 'JWKS_UNAVAILABLE') {
    headers['www-authenticate'] = `Bearer realm="warden", error="invalid_token", error_description="${quote(ERRORS[err.code].message)}"`;
  }
  send(res, err.status, JSON.stringify({ ...err.toPublic(), decision_id: decisionId }), headers);
}

export interface DenyAnswer {
  readonly decisionId: string;
  readonly code: 'POLICY_DENIED' | 'APPROVAL_DENIED' | 'LANE_UNDEFINED';
  readonly reason: string | undefined;
  readonly mcp: McpInput | undefined;
}

export function sendDeny(res: ServerResponse, a: DenyAnswer): void {
  const data = { error: a.code, decision_id: a.decisionId, reason: a.reason ?? ERRORS[a.code].message };
  if (a.mcp) {
    send(res, 200, mcpAnswer(a.mcp, 'denied', ERRORS[a.code].message, data), { 'warden-decision-id': a.decisionId });
    return;
  }
  send(res, 403, JSON.stringify(data), { 'warden-decision-id': a.decisionId });
}

export interface StepUpAnswer {
  readonly decisionId: string;
  readonly approvalId: string;
  readonly expiresAt: string;
  readonly reason: string | undefined;
  readonly retryAfterSeconds: number;
  readonly mcp: McpInput | undefined;
}

/** RFC 9470 step-up challenge (REST) or its JSON-RPC twin (MCP). */
export function sendStepUp(res: ServerResponse, a: StepUpAnswer): void {
  const data = { error: 'approval_required', approval_id: a.approvalId, decision_id: a.decisionId, expires_at: a.expiresAt, reason: a.reason ?? ERRORS.APPROVAL_REQUIRED.message };
  const headers = { 'warden-decision-id': a.decisionId, 'retry-after': String(a.retryAfterSeconds) };
  if (a.mcp) {
    send(res, 200, mcpAnswer(a.mcp, 'approval_required', ERRORS.APPROVAL_REQUIRED.message, data), headers);
    return;
  }
  send(res, 401, JSON.stringify(data), {
    ...headers,
    'www-authenticate': `Bearer realm="warden", error="insufficient_user_authentication", error_description="${quote(ERRORS.APPROVAL_REQUIRED.message)}"`,
  });
}
