// MCP over HTTP is JSON-RPC 2.0: a request body fills `input.mcp` (DESIGN.md "Policy contract").

import { WardenError } from '../errors.js';
import type { McpInput } from '../policy/types.js';

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
  const out: McpInput = { kind: 'id' in body ? 'request' : 'notification', method: body.method };
  if (typeof body.id === 'string' || typeof body.id === 'number' || body.id === null) out.id = body.id;
  if (body.method === 'tools/call' && isObject(body.params)) {
    if (typeof body.params.name === 'string') out.tool = body.params.name;
    if (body.params.arguments !== undefined) out.arguments = body.params.arguments;
  }
  return out;
}
