// Warden's own answers on an MCP upstream, in forms the official SDKs understand (DESIGN.md "Proxy
// responses"). A refused request is HTTP 200 with a JSON-RPC error that keeps the request's id
// (MCP clients drop the body of non-200 answers); a refused notification or client response is
// 403 with a JSON-RPC error without id (Streamable HTTP: "an HTTP error status"); a refused
// event-stream GET or session DELETE is 405, which both SDKs read as "this server has none".
// Codes: -32010 denied, -32011 approval required (implementation-defined range, used by neither
// official SDK: -32001 is the v1 SDK's RequestTimeout, -32002 the v2 SDK's ResourceNotFound),
// -32020 header mismatch (the 2026-07-28 spec's HeaderMismatch), -32602 a requestState Warden did
// not issue for this call (what the SDK server answers for a requestState that fails to verify).

import type { ErrorCode } from '../errors.js';
import type { McpInput } from '../policy/types.js';

type JsonRpcId = string | number | null;

export const MCP_ERROR = { denied: -32010, approval_required: -32011, header_mismatch: -32020, invalid_params: -32602, error: -32603 } as const;

/** Warden's own errors that an MCP request gets as a JSON-RPC error: its code and HTTP status. */
export const MCP_CODED_ERRORS: Partial<Record<ErrorCode, { readonly code: number; readonly status: number }>> = {
  // The 2026-07-28 spec's answer: HTTP 400 with JSON-RPC error -32020 (HeaderMismatch).
  MCP_HEADER_MISMATCH: { code: MCP_ERROR.header_mismatch, status: 400 },
  // HTTP 200 like any JSON-RPC error the SDKs must read (they drop the body of other statuses).
  MCP_REQUEST_STATE_INVALID: { code: MCP_ERROR.invalid_params, status: 200 },
};

export type McpErrorKind = keyof typeof MCP_ERROR;

export function jsonRpcError(id: JsonRpcId | undefined, code: number, message: string, data: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code, message, data } });
}

/** The JSON-RPC error body answering `mcp` with one of Warden's refusals or challenges. */
export function mcpAnswer(mcp: McpInput, kind: McpErrorKind, message: string, data: Record<string, unknown>): string {
  return jsonRpcError(mcp.kind === 'request' ? mcp.id : null, MCP_ERROR[kind], message, data);
}

/** The HTTP status of a refusal of this MCP message. */
export function mcpRefusalStatus(mcp: McpInput): number {
  switch (mcp.kind) {
    case 'request':
    case 'listing':
      return 200;
    case 'notification':
    case 'response':
      return 403;
    case 'stream':
    case 'session_end':
      return 405;
  }
}
