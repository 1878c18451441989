// Header hygiene in both directions (fastify-reply-from): hop-by-hop headers and every header
// named in `Connection` are dropped; the agent cannot send `warden-*` headers, credentials or a
// lane's header through; the policy input never sees a credential.

import type { IncomingHttpHeaders } from 'node:http';

export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection',
  'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade', 'http2-settings',
]);

/** Headers that carry credentials: never forwarded from the agent, never in the policy input. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key']);

type HeaderValue = string | string[] | number | undefined;

/** Names listed in the `Connection` header (lowercased). */
export function connectionListed(value: HeaderValue): Set<string> {
  const out = new Set<string>();
  if (value === undefined) return out;
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
  for (const [name, value] of Object.entries(headers)) {
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
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || name.startsWith('warden-')) continue;
    out[name] = value;
  }
  return out;
}
