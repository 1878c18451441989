// Header hygiene in both directions (fastify-reply-from): hop-by-hop headers and every header
// named in `Connection` are dropped; the agent cannot send `warden-*` headers, credentials or a
// lane's header through; the policy input never sees a credential.

import { Buffer } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import { WardenError } from '../errors.js';

export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection',
  'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade', 'http2-settings',
]);

/** Headers that carry credentials: never forwarded from the agent, never in the policy input. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key']);

type HeaderValue = string | string[] | number | undefined;

const NONE: ReadonlySet<string> = new Set();
const COMMON_CONNECTION: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  ['keep-alive', 'Keep-Alive', 'close', 'Close'].map((v) => [v, new Set([v.toLowerCase()])]),
);

/** Names listed in the `Connection` header (lowercased). */
export function connectionListed(value: HeaderValue): ReadonlySet<string> {
  if (value === undefined) return NONE;
  // The usual values (three times per request: the agent's request twice, the upstream's answer)
  // answered without a new set and a split.
  const common = typeof value === 'string' ? COMMON_CONNECTION.get(value) : undefined;
  if (common) return common;
  const out = new Set<string>();
  for (const v of Array.isArray(value) ? value : [String(value)]) {
    for (const token of v.split(',')) {
      const t = token.trim().toLowerCase();
      if (t) out.add(t);
    }
  }
  return out;
}

export interface RequestHeaderPlan {
  /** Headers forwarded upstream (before the lane and policy headers are added). */
  readonly forward: Record<string, string | string[]>;
  /** Headers the policy sees. */
  readonly input: Record<string, string>;
}

/**
 * Split the agent's headers into what is forwarded and what the policy sees. `drop` holds the
 * extra names to remove (the identity header, the upstream's lane headers).
 */
export function planRequestHeaders(headers: IncomingHttpHeaders, drop: ReadonlySet<string>): RequestHeaderPlan {
  const listed = connectionListed(headers.connection);
  const forward: Record<string, string | string[]> = {};
  const input: Record<string, string> = {};
  // for...in rather than Object.entries: no array per header on every request.
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || listed.has(name) || drop.has(name) || CREDENTIAL_HEADERS.has(name)) continue;
    if (name.startsWith('warden-') || name === 'host' || name === 'content-length' || name === 'expect') continue;
    forward[name] = value;
    input[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { forward, input };
}

/** Response headers from the upstream, cleaned for the agent. */
export function cleanResponseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const listed = connectionListed(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || name.startsWith('warden-')) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Headers that make common stacks act on another method or URL than the request line's: express
 * method-override, OData, Symfony and IIS (`X-Original-URL`, `X-Rewrite-URL`).
 */
export const OVERRIDE_HEADERS: ReadonlySet<string> = new Set(['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-method', 'x-original-url', 'x-rewrite-url']);
/** Query and form fields that Rails, Laravel, Symfony and method-override read as the method. */
export const OVERRIDE_FIELDS: ReadonlySet<string> = new Set(['_method']);

/** Refuse a method or URL override in the headers, the query or a form body (OVERRIDE_REFUSED). */
export function refuseOverrides(headers: IncomingHttpHeaders, query: Record<string, string[]>, form?: Record<string, string[]>): void {
  for (const name of OVERRIDE_HEADERS) if (headers[name] !== undefined) throw new WardenError('OVERRIDE_REFUSED', `header ${name}`);
  for (const fields of [query, form]) {
    if (!fields) continue;
    for (const key of Object.keys(fields)) if (OVERRIDE_FIELDS.has(key.toLowerCase())) throw new WardenError('OVERRIDE_REFUSED', `field ${key}`);
  }
}

/**
 * `Connection` naming a header this request carries (other than hop-by-hop ones): the next hop
 * would drop a header that Warden and its policy read (`Connection: content-type` turns a JSON
 * body into an untyped one), so the request is refused (CONNECTION_HEADER_REFUSED).
 */
export function refuseConnectionListed(headers: IncomingHttpHeaders): void {
  for (const name of connectionListed(headers.connection)) {
    if (!HOP_BY_HOP.has(name) && headers[name] !== undefined) throw new WardenError('CONNECTION_HEADER_REFUSED', name);
  }
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A header value with bytes outside ASCII (obs-text): Node reads it as latin1, a UTF-8 upstream as
 * UTF-8, so the policy and the upstream would read different text (HEADER_VALUE_REFUSED).
 */
export function refuseNonAsciiValues(headers: IncomingHttpHeaders): void {
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') {
      if (NON_ASCII.test(value)) throw new WardenError('HEADER_VALUE_REFUSED', name);
      continue;
    }
    for (const v of value) if (NON_ASCII.test(v)) throw new WardenError('HEADER_VALUE_REFUSED', name);
  }
}

export interface HeaderBudget {
  /** Most header fields the upstream accepts (Host and Content-Length included). */
  readonly count: number;
  /** Most bytes of request line plus header block the upstream accepts. */
  readonly bytes: number;
}

/**
 * The request as it will go out — the agent's headers plus Warden's own (policy headers, the
 * lane credential, the decision id) — must fit the upstream's limits, or the upstream would cut
 * or refuse a request the policy allowed as a whole (HEADERS_TOO_LARGE).
 */
export function checkHeaderBudget(requestLine: string, headers: Record<string, string | string[]>, bodyBytes: number, budget: HeaderBudget): void {
  // Host and, with a body, Content-Length are added on the wire.
  let count = 1 + (bodyBytes > 0 ? 1 : 0);
  let bytes = requestLine.length + 2 + 'host: '.length + 64 + (bodyBytes > 0 ? 'content-length: '.length + String(bodyBytes).length + 2 : 0);
  for (const name in headers) {
    const value = headers[name]!;
    if (typeof value === 'string') {
      count++;
      bytes += name.length + 2 + Buffer.byteLength(value) + 2;
      continue;
    }
    for (const v of value) {
      count++;
      bytes += name.length + 2 + Buffer.byteLength(v) + 2;
    }
  }
  if (count > budget.count) throw new WardenError('HEADERS_TOO_LARGE', `${count} header fields > ${budget.count}`);
  if (bytes > budget.bytes) throw new WardenError('HEADERS_TOO_LARGE', `${bytes} header bytes > ${budget.bytes}`);
}
