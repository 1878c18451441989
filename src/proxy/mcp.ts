// MCP over HTTP is JSON-RPC 2.0. A request body fills `input.mcp`; deny and step-up answers to an
// MCP request are HTTP 200 with a JSON-RPC error keeping the request's id, because MCP clients
// drop the body of non-200 answers.

import { WardenError } from '../errors.js';
import type { McpInput } from '../policy/types.js';

type JsonRpcId = string | number | null;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `input.mcp` for a JSON-RPC 2.0 request body, or undefined when the body is not one. */
export function mcpInput(body: unknown): McpInput | undefined {
  if (Array.isArray(body) && body.some((m) => isObject(m) && m.jsonrpc === '2.0')) {
    // A batch would let one policy decision cover several tool calls: refuse it outright.
    throw new WardenError('MCP_BATCH_REFUSED');
  }
  if (!isObject(body) || body.jsonrpc !== '2.0' || typeof body.method !== 'string') return undefined;
  const out: McpInput = { method: body.method };
  if (typeof body.id === 'string' || typeof body.id === 'number' || body.id === null) out.id = body.id;
  if (body.method === 'tools/call' && isObject(body.params)) {
    if (typeof body.params.name === 'string') out.tool = body.params.name;
    if (body.params.arguments !== undefined) out.arguments = body.params.arguments;
  }
  return out;
}

/** JSON-RPC error codes: -32001 denied, -32002 approval required (server-defined range). */
export const MCP_ERROR = { denied: -32001, approval_required: -32002, error: -32603 } as const;

export function jsonRpcError(id: JsonRpcId | undefined, code: number, message: string, data: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code, message, data } });
}
