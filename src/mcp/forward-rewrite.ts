// What Warden does to an MCP upstream's answer on its way to the agent, message by message:
// server requests relayed on an event stream are remembered (so the client's answer is named to
// the policy), a tools/list result is digested and filtered to what the policy lets the agent
// call, and an approved 2026-07-28 call that the server continues (`input_required`) gets Warden's
// sealed `requestState` around the server's own. Plain JSON answers that need none of this pass
// untouched (no buffering of large tool results).

import type { Transform } from 'node:stream';
import type { McpInput } from '../policy/types.js';
import { andThen } from '../store/awaitable.js';
import type { McpDeps } from './deps.js';
import { wrapServerRound } from './mrtr.js';
import { isEventStream, mcpResponseRewriter, type JsonRpcMessage } from './response-rewrite.js';
import type { ToolDefinitionInput } from './tool-digest.js';
import { filterToolsList } from './tools-filter.js';

export interface ForwardRewrite {
  readonly upstream: string;
  readonly mcp: McpInput;
  /** Whether the policy lets the agent see this listed tool. */
  readonly visible: (tool: string, definition: ToolDefinitionInput | undefined) => boolean;
  /** Seal a server round of an approved 2026-07-28 call (undefined: not such a call). */
  readonly seal: ((inner: string | undefined) => string) | undefined;
  readonly maxJsonBytes: number;
}

/** The body transform for one answer, chosen from its headers; `hidden` collects filtered tools. */
export function forwardRewrite(deps: McpDeps, f: ForwardRewrite, hidden: string[]): (headers: Record<string, string | string[] | undefined>) => Transform | undefined {
  const listing = f.mcp.kind === 'request' && f.mcp.method === 'tools/list';
  const id = f.mcp.id;
  const session = f.mcp.session_id;
  const rewrite = (msg: JsonRpcMessage) => {
    if (typeof msg.method === 'string' && 'id' in msg) deps.serverRequests.relayed(session, msg.id, msg.method);
    const sealed = f.seal ? wrapServerRound(msg, id, f.seal) : msg;
    if (!listing) return sealed;
    return andThen(filterToolsList(sealed, id, { observe: (tools) => deps.tools.observe(f.upstream, tools), visible: f.visible }, hidden), (m) => m);
  };
  return (headers) => {
    const sse = isEventStream(headers['content-type']);
    if (!sse && !listing && !f.seal) return undefined;
    // A listing that cannot be read is not shown unfiltered: strict.
    return mcpResponseRewriter(headers['content-type'], rewrite, { maxJsonBytes: f.maxJsonBytes, strict: listing });
  };
}
