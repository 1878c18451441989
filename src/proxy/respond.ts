// Every answer Warden itself gives the agent. Bodies carry a code and the decision id, never
// request data or internal error text (DESIGN.md "Proxy responses"). For an MCP request, deny and
// step-up are the MCP domain's JSON-RPC answers (src/mcp/answers.ts).

import { Buffer } from 'node:buffer';
import type { ServerResponse } from 'node:http';
import { ERRORS, type WardenError } from '../errors.js';
import type { McpInput } from '../policy/types.js';
import { MCP_CODED_ERRORS, jsonRpcError, mcpAnswer, mcpRefusalStatus } from '../mcp/answers.js';

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}

function quote(s: string): string {
  return s.replace(/["\\\r\n]/g, ' ');
}

/** A coded error: its status and fixed message. 401s carry the RFC 6750 challenge. Returns the status sent. */
export function sendError(res: ServerResponse, err: WardenError, decisionId: string, extraHeaders: Record<string, string> = {}, mcp?: McpInput): number {
  const headers: Record<string, string> = { 'warden-decision-id': decisionId, ...extraHeaders };
  if (err.code === 'TOKEN_MISSING') headers['www-authenticate'] = 'Bearer realm="warden"';
  else if ((err.status === 401 && (err.code.startsWith('TOKEN_') || err.code.startsWith('AGENT_'))) || err.code === 'JWKS_UNAVAILABLE') {
    headers['www-authenticate'] = `Bearer realm="warden", error="invalid_token", error_description="${quote(ERRORS[err.code].message)}"`;
  }
  const coded = mcp && MCP_CODED_ERRORS[err.code];
  if (mcp && coded) {
    send(res, coded.status, jsonRpcError(mcp.kind === 'request' ? mcp.id : null, coded.code, ERRORS[err.code].message, { error: err.code, decision_id: decisionId }), headers);
    return coded.status;
  }
  send(res, err.status, JSON.stringify({ ...err.toPublic(), decision_id: decisionId }), headers);
  return err.status;
}

export interface DenyAnswer {
  readonly decisionId: string;
  readonly code: 'POLICY_DENIED' | 'APPROVAL_DENIED' | 'LANE_UNDEFINED';
  readonly reason: string | undefined;
  readonly mcp: McpInput | undefined;
}

/** Answers the refusal; returns the status sent. */
export function sendDeny(res: ServerResponse, a: DenyAnswer): number {
  const data = { error: a.code, decision_id: a.decisionId, reason: a.reason ?? ERRORS[a.code].message };
  if (a.mcp) {
    const status = mcpRefusalStatus(a.mcp);
    send(res, status, mcpAnswer(a.mcp, 'denied', ERRORS[a.code].message, data), { 'warden-decision-id': a.decisionId, ...(status === 405 && { allow: 'POST' }) });
    return status;
  }
  send(res, 403, JSON.stringify(data), { 'warden-decision-id': a.decisionId });
  return 403;
}

export interface StepUpAnswer {
  readonly decisionId: string;
  readonly approvalId: string;
  readonly expiresAt: string;
  readonly reason: string | undefined;
  readonly retryAfterSeconds: number;
  readonly mcp: McpInput | undefined;
  /** The approval's page (`step_up.approval_url`). */
  readonly approvalUrl?: string;
  /** For a client on MCP 2026-07-28: the `input_required` result to answer instead (src/mcp/mrtr.ts). */
  readonly inputRequired?: string;
}

/** RFC 9470 step-up challenge (REST) or its JSON-RPC twin (MCP); returns the status sent. */
export function sendStepUp(res: ServerResponse, a: StepUpAnswer): number {
  const data = { error: 'approval_required', approval_id: a.approvalId, decision_id: a.decisionId, expires_at: a.expiresAt, reason: a.reason ?? ERRORS.APPROVAL_REQUIRED.message, ...(a.approvalUrl !== undefined && { approval_url: a.approvalUrl }) };
  const headers = { 'warden-decision-id': a.decisionId, 'retry-after': String(a.retryAfterSeconds) };
  if (a.mcp) {
    if (a.mcp.kind === 'request' && a.inputRequired) {
      send(res, 200, a.inputRequired, headers);
      return 200;
    }
    const status = mcpRefusalStatus(a.mcp);
    send(res, status, mcpAnswer(a.mcp, 'approval_required', ERRORS.APPROVAL_REQUIRED.message, data), headers);
    return status;
  }
  send(res, 401, JSON.stringify(data), {
    ...headers,
    'www-authenticate': `Bearer realm="warden", error="insufficient_user_authentication", error_description="${quote(ERRORS.APPROVAL_REQUIRED.message)}"`,
  });
  return 401;
}
