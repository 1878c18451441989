// Warden's own answers to an MCP request: HTTP 200 with a JSON-RPC error that keeps the request's
// id, because MCP clients drop the body of non-200 answers. The codes are in the server-defined
// range of JSON-RPC.

import type { McpInput } from '../policy/types.js';

type JsonRpcId = string | number | null;

/** JSON-RPC error codes: -32001 denied, -32002 approval required, -32603 internal error. */
export const MCP_ERROR = { denied: -32001, approval_required: -32002, error: -32603 } as const;

export type McpErrorKind = keyof typeof MCP_ERROR;

export function jsonRpcError(id: JsonRpcId | undefined, code: number, message: string, data: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code, message, data } });
}

/** The JSON-RPC error body answering `mcp` with one of Warden's refusals or challenges. */
export function mcpAnswer(mcp: McpInput, kind: McpErrorKind, message: string, data: Record<string, unknown>): string {
  return jsonRpcError(mcp.id, MCP_ERROR[kind], message, data);
}
