// `input.mcp` for every request to an MCP upstream (Streamable HTTP, both eras): a POSTed JSON-RPC
// request, notification or response (the client's answer to a server request, named by the
// method it answered when Warden relayed that request), the GET that opens the server-to-client
// event stream, or the DELETE that ends a session. A JSON-RPC batch is refused outright: it would
// let one decision cover several calls.

import type { IncomingHttpHeaders } from 'node:http';
import { WardenError } from '../errors.js';
import type { McpInput } from '../policy/types.js';
import { envelopeVersion } from './request-headers.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function acceptsEventStream(headers: IncomingHttpHeaders): boolean {
  const accept = headers.accept;
  return typeof accept === 'string' && accept.toLowerCase().includes('text/event-stream');
}

const isId = (v: unknown): v is string | number => typeof v === 'string' || typeof v === 'number';

/** Which params field names the target of a method. */
function targets(method: string, params: Record<string, unknown>, out: McpInput): void {
  const str = (k: string): string | undefined => (typeof params[k] === 'string' ? (params[k] as string) : undefined);
  if (method === 'tools/call') {
    const tool = str('name');
    if (tool !== undefined) out.tool = tool;
    if (params.arguments !== undefined) out.arguments = params.arguments;
  } else if (method === 'prompts/get') {
    const name = str('name');
    if (name !== undefined) out.name = name;
    if (params.arguments !== undefined) out.arguments = params.arguments;
  } else if (method === 'resources/read' || method === 'resources/subscribe' || method === 'resources/unsubscribe') {
    const uri = str('uri');
    if (uri !== undefined) out.uri = uri;
  }
}

export interface MessageFacts {
  readonly httpMethod: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed body (undefined when empty or not JSON). */
  readonly body: unknown;
  /** The method of the server request a client response answers, when Warden relayed it. */
  readonly answered: (session: string | undefined, id: unknown) => string | undefined;
}

/** `input.mcp`, or undefined when the request is none of the MCP message kinds. */
export function mcpMessage(f: MessageFacts): McpInput | undefined {
  const session = header(f.headers, 'mcp-session-id');
  const version = header(f.headers, 'mcp-protocol-version');
  const common = { ...(version !== undefined && { protocol_version: version }), ...(session !== undefined && { session_id: session }) };
  // A GET is MCP's event stream when it asks for one; a DELETE ends a session when it names one.
  // Anything else on the upstream (a health check, say) is not an MCP message.
  if (f.httpMethod === 'GET') return acceptsEventStream(f.headers) || session !== undefined ? { kind: 'stream', ...common } : undefined;
  if (f.httpMethod === 'DELETE') return session !== undefined ? { kind: 'session_end', ...common } : undefined;
  const body = f.body;
  if (Array.isArray(body) && body.some((m) => isObject(m) && m.jsonrpc === '2.0')) throw new WardenError('MCP_BATCH_REFUSED');
  if (!isObject(body) || body.jsonrpc !== '2.0') return undefined;
  const claimed = envelopeVersion(body);
  const params = isObject(body.params) ? body.params : {};
  const initVersion = body.method === 'initialize' && typeof params.protocolVersion === 'string' ? params.protocolVersion : undefined;
  const pv = claimed ?? version ?? initVersion;
  const base = { ...common, ...(pv !== undefined && { protocol_version: pv }) };
  if (typeof body.method === 'string') {
    const out: McpInput = 'id' in body ? { kind: 'request', method: body.method, ...base } : { kind: 'notification', method: body.method, ...base };
    if (out.kind === 'request' && (isId(body.id) || body.id === null)) out.id = body.id;
    targets(body.method, params, out);
    return out;
  }
  if ('id' in body && ('result' in body || 'error' in body)) {
    const out: McpInput = { kind: 'response', ...base };
    if (isId(body.id) || body.id === null) out.id = body.id;
    const answered = f.answered(session, body.id);
    if (answered !== undefined) out.method = answered;
    return out;
  }
  return undefined;
}
