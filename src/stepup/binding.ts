// The call binding: what an approval is bound to. A grant must only ever open the exact call a
// human saw, so the digest covers task, agent, upstream, method, path, query and body digest —
// for MCP the JSON-RPC method, its target (the tool, prompt name or resource URI) and arguments
// instead, but never the JSON-RPC `id`, which a client changes on every retry (DESIGN.md "Step-up").

import { createHash } from 'node:crypto';
import { WardenError } from '../errors.js';
import type { AgentInput, McpInput, RequestInput, TaskInput } from '../policy/types.js';

/**
 * An HTTP call is bound by `body_digest`, an MCP call by `mcp` instead. One shape with both
 * optional (rather than a union) so the proxy's own binding type is accepted as it is.
 */
export interface CallBinding {
  readonly task_id?: string;
  readonly agent_id?: string;
  readonly upstream: string;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, readonly string[]>>;
  readonly body_digest?: string;
  readonly mcp?: { readonly method: string; readonly tool?: string; readonly name?: string; readonly uri?: string; readonly arguments?: unknown };
}

/**
 * JSON with object keys sorted recursively and arrays kept in order, so two equal values always
 * give the same text. Undefined members are dropped, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // JSON.stringify(undefined) is undefined; inside arrays it becomes null like JSON does.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const parts: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** `sha256:<hex>` of the canonical binding; the same call always gives the same digest. */
export function bindingDigest(b: CallBinding): string {
  // Rebuild the object from known fields only, so a caller passing a richer object (such as the
  // whole McpInput with its `id`) cannot change the digest by accident.
  const canonical: Record<string, unknown> = {
    task_id: b.task_id,
    agent_id: b.agent_id,
    upstream: b.upstream,
    method: b.method.toUpperCase(),
    path: b.path,
    query: b.query,
  };
  // The call's target: the tool, prompt name or resource URI, so an approval to get one prompt or
  // read one resource opens no other. It stays under the key `tool` (the only target bound before)
  // so tools/call digests are unchanged; the method is what tells a tool from a prompt of one name.
  if (b.mcp) canonical.mcp = { method: b.mcp.method, tool: b.mcp.tool ?? b.mcp.name ?? b.mcp.uri, arguments: b.mcp.arguments };
  else if (b.body_digest !== undefined) canonical.body_digest = b.body_digest;
  // Without either, two different bodies would share one approval: refuse to bind.
  else throw new WardenError('INTERNAL', 'call binding has neither body_digest nor mcp');
  return `sha256:${createHash('sha256').update(canonicalJson(canonical)).digest('hex')}`;
}

/** The binding of a call, from the policy input built for it. */
export function bindingFromInput(input: {
  request: RequestInput;
  mcp?: McpInput;
  task?: Pick<TaskInput, 'id'>;
  agent?: Pick<AgentInput, 'id'>;
}): CallBinding {
  const base = {
    ...(input.task && { task_id: input.task.id }),
    ...(input.agent && { agent_id: input.agent.id }),
    upstream: input.request.upstream,
    method: input.request.method,
    path: input.request.path,
    query: input.request.query,
  };
  if (input.mcp) {
    const { method, tool, name, uri, arguments: args } = input.mcp;
    return { ...base, mcp: { method: method ?? '', tool, name, uri, arguments: args } };
  }
  return { ...base, body_digest: input.request.body_digest };
}
