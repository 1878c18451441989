// `tools/list` shows what the agent may call: each listed tool is digested (pinning) and put to the
// policy as a `listing` (method tools/call, that tool); a tool the policy denies is removed from
// the result the agent sees, and its name is returned for the decision log. Only the result
// answering this request's id is touched.

import type { Awaitable } from '../store/awaitable.js';
import { andThen } from '../store/awaitable.js';
import type { JsonRpcMessage } from './response-rewrite.js';
import type { ToolDefinitionInput } from './tool-digest.js';

export interface ToolsFilterDeps {
  /** Digest and record the listed definitions; the definition input of each by name. */
  readonly observe: (tools: readonly Record<string, unknown>[]) => Awaitable<Map<string, ToolDefinitionInput>>;
  /** Whether the policy lets the agent see (call) this tool. */
  readonly visible: (tool: string, definition: ToolDefinitionInput | undefined) => boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Filter a tools/list result message; `hidden` collects the names removed. */
export function filterToolsList(msg: JsonRpcMessage, requestId: unknown, deps: ToolsFilterDeps, hidden: string[]): Awaitable<JsonRpcMessage> {
  if (msg.id !== requestId || !isObject(msg.result) || !Array.isArray(msg.result.tools)) return msg;
  const result = msg.result;
  const listed = (result.tools as unknown[]).filter(isObject);
  return andThen(deps.observe(listed), (defs) => {
    const kept: Record<string, unknown>[] = [];
    for (const t of listed) {
      const name = typeof t.name === 'string' ? t.name : undefined;
      if (name !== undefined && deps.visible(name, defs.get(name))) kept.push(t);
      else hidden.push(name ?? '(unnamed)');
    }
    return kept.length === (result.tools as unknown[]).length ? msg : { ...msg, result: { ...result, tools: kept } };
  });
}
