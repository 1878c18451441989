// MCP 2026-07-28 standard request headers (SEP-2243): `MCP-Protocol-Version`, `Mcp-Method`,
// `Mcp-Name` and `Mcp-Param-*` mirror the JSON-RPC body so that gateways can route without
// parsing it. A header that disagrees with the body is a confused-deputy vector (something routes
// on the header, the server acts on the body), so Warden refuses every disagreement as the spec
// says, HTTP 400 with JSON-RPC error -32020, and never forwards it; the policy decides on the
// parsed body. Presence is required only of requests that claim the 2026-07-28 envelope; a header
// that is present is checked in both eras.

import { Buffer } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';

export const PROTOCOL_VERSION_META = 'io.modelcontextprotocol/protocolVersion';
/** JSON-RPC code of a header/body disagreement (MCP 2026-07-28, `HeaderMismatch`). */
export const HEADER_MISMATCH_CODE = -32020;

/** Which body field `Mcp-Name` mirrors, per method. */
const NAME_SOURCE: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

const SENTINEL_PREFIX = '=?base64?';
const SENTINEL_SUFFIX = '?=';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface HeaderMismatch {
  /** The header at fault (lowercase). */
  readonly header: string;
  readonly problem: 'missing' | 'mismatch' | 'invalid_encoding' | 'repeated';
}

/** One `x-mcp-header` declaration of a tool's input schema: the argument path and header name. */
export interface ParamDeclaration {
  readonly path: readonly string[];
  readonly header: string;
  readonly type: string | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A header value decoded from the `=?base64?…?=` sentinel (UTF-8), or as is; undefined if malformed. */
export function decodeHeaderValue(value: string): string | undefined {
  if (!(value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX) && value.length >= SENTINEL_PREFIX.length + SENTINEL_SUFFIX.length)) return value;
  const b64 = value.slice(SENTINEL_PREFIX.length, value.length - SENTINEL_SUFFIX.length);
  if (!BASE64.test(b64)) return undefined;
  try {
    return utf8.decode(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
}

/** The protocol version a 2026-07-28-era request claims in `params._meta`, if any. */
export function envelopeVersion(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.params) || !isObject(body.params._meta)) return undefined;
  const v = body.params._meta[PROTOCOL_VERSION_META];
  return typeof v === 'string' ? v : undefined;
}

/** The `x-mcp-header` declarations of an input schema, reachable through `properties` only. */
export function paramDeclarations(inputSchema: unknown): ParamDeclaration[] {
  const out: ParamDeclaration[] = [];
  const visit = (node: unknown, path: string[]): void => {
    if (!isObject(node)) return;
    const name = node['x-mcp-header'];
    if (path.length > 0 && typeof name === 'string' && name.length > 0) out.push({ path, header: `mcp-param-${name.toLowerCase()}`, type: typeof node.type === 'string' ? node.type : undefined });
    if (isObject(node.properties)) for (const [k, child] of Object.entries(node.properties)) visit(child, [...path, k]);
  };
  visit(inputSchema, []);
  return out;
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined | HeaderMismatch {
  const v = headers[name];
  if (Array.isArray(v)) return { header: name, problem: 'repeated' };
  return v?.trim();
}

function asString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && Number.isFinite(v) && (!Number.isInteger(v) || Number.isSafeInteger(v))) return String(v);
  return undefined;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const k of path) {
    if (!isObject(node)) return undefined;
    node = node[k];
  }
  return node;
}

function checkParams(headers: IncomingHttpHeaders, args: unknown, declarations: readonly ParamDeclaration[] | undefined): HeaderMismatch | undefined {
  // Every Mcp-Param-* header that is present must at least decode.
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('mcp-param-')) continue;
    if (Array.isArray(value)) return { header: name, problem: 'repeated' };
    if (value !== undefined && decodeHeaderValue(value.trim()) === undefined) return { header: name, problem: 'invalid_encoding' };
  }
  for (const d of declarations ?? []) {
    const raw = valueAt(args, d.path);
    const want = asString(raw);
    if (want === undefined) continue;
    const got = headers[d.header] as string | undefined;
    if (got === undefined) return { header: d.header, problem: 'missing' };
    const decoded = decodeHeaderValue(got.trim())!;
    const numeric = (d.type === 'integer' || d.type === 'number') && typeof raw === 'number' && DECIMAL.test(decoded);
    if (numeric ? Number(decoded) !== raw : decoded !== want) return { header: d.header, problem: 'mismatch' };
  }
  return undefined;
}

/**
 * Check the standard MCP headers of a POSTed JSON-RPC message against its body. `declarations` are
 * the called tool's `x-mcp-header` declarations when Warden knows its definition.
 */
export function checkMcpHeaders(headers: IncomingHttpHeaders, body: unknown, declarations?: readonly ParamDeclaration[]): HeaderMismatch | undefined {
  if (!isObject(body) || typeof body.method !== 'string') return undefined;
  const method = body.method;
  const claimed = envelopeVersion(body);
  const isRequest = 'id' in body;
  const modern = claimed !== undefined;

  const version = single(headers, 'mcp-protocol-version');
  if (typeof version === 'object') return version;
  if (modern && version !== undefined && version !== claimed) return { header: 'mcp-protocol-version', problem: 'mismatch' };
  if (modern && isRequest && version === undefined) return { header: 'mcp-protocol-version', problem: 'missing' };

  const methodHeader = single(headers, 'mcp-method');
  if (typeof methodHeader === 'object') return methodHeader;
  if (methodHeader !== undefined && methodHeader !== method) return { header: 'mcp-method', problem: 'mismatch' };
  if (modern && isRequest && methodHeader === undefined) return { header: 'mcp-method', problem: 'missing' };

  const field = Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method]! : undefined;
  const params = isObject(body.params) ? body.params : undefined;
  const target = field !== undefined && typeof params?.[field] === 'string' ? (params[field] as string) : undefined;
  const nameHeader = single(headers, 'mcp-name');
  if (typeof nameHeader === 'object') return nameHeader;
  if (nameHeader !== undefined && field !== undefined) {
    const decoded = decodeHeaderValue(nameHeader);
    if (decoded === undefined) return { header: 'mcp-name', problem: 'invalid_encoding' };
    if (decoded !== target) return { header: 'mcp-name', problem: 'mismatch' };
  } else if (modern && isRequest && target !== undefined) {
    return { header: 'mcp-name', problem: 'missing' };
  }
  return method === 'tools/call' ? checkParams(headers, params?.arguments, declarations) : checkParams(headers, undefined, undefined);
}
