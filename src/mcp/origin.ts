// Origin validation on Warden's own listeners (DNS rebinding, MCP 2025-11-25 "Security Warning"):
// a browser page on another site that resolves its name to 127.0.0.1 reaches a loopback Warden,
// and the browser marks such requests with its own `Origin`. Requests without `Origin` (agents,
// SDK clients, curl) pass; an `Origin` passes when it is a loopback origin or one the
// configuration lists; anything else (including the opaque `null`) is refused before the policy,
// except `null` on a request the browser itself marks `Sec-Fetch-Site: same-origin` (Chromium
// sends that for a page's own form posts under `Referrer-Policy: no-referrer`, as the console's).

import type { IncomingHttpHeaders } from 'node:http';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return LOOPBACK_HOSTS.has(h) || h.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Normalise an origin (`HTTP://Example.com:443` → `http://example.com:443`); undefined when malformed. */
export function normalizeOrigin(value: string): string | undefined {
  try {
    const u = new URL(value);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin === 'null') return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

/** Whether a request carrying this `Origin` header may go on. */
export function originAllowed(origin: string | string[] | undefined, allowed: ReadonlySet<string>): boolean {
  if (origin === undefined) return true;
  if (Array.isArray(origin)) return false; // one request, one origin: a repeated header is forged
  const o = normalizeOrigin(origin.trim());
  if (o === undefined) return false;
  return isLoopbackHost(new URL(o).hostname) || allowed.has(o);
}

/** originAllowed() for a request's headers, with the same-origin `null` of a no-referrer page. */
export function requestOriginAllowed(headers: IncomingHttpHeaders, allowed: ReadonlySet<string>): boolean {
  if (headers.origin === 'null' && headers['sec-fetch-site'] === 'same-origin') return true;
  return originAllowed(headers.origin, allowed);
}

const sets = new WeakMap<readonly string[], ReadonlySet<string>>();

/** The configured origins, normalised once per configuration array. */
export function allowedOriginSet(list: readonly string[]): ReadonlySet<string> {
  let set = sets.get(list);
  if (!set) {
    set = new Set(list.map(normalizeOrigin).filter((o): o is string => o !== undefined));
    sets.set(list, set);
  }
  return set;
}
