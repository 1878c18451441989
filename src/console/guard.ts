// The console's defences against cross-site requests, besides the SameSite=Strict cookie:
// every POST must come from a page of this console (Fetch metadata and Origin), and carry the
// session's CSRF token. Either alone would do for today's browsers; together a gap in one (an
// old browser without Fetch metadata, a proxy that strips Origin) is covered by the other.

import type { IncomingHttpHeaders } from 'node:http';
import { safeEqual } from '../admin/auth.js';
import type { Session } from './sessions.js';

export const COOKIE = 'warden_console';

/**
 * True when the request comes from a page of this origin. `Sec-Fetch-Site`, which browsers set
 * and pages cannot, must be `same-origin` when sent. `Origin` must name the host the request was
 * sent to (the scheme is not compared: TLS may end in front of Warden), except that it may be
 * `null` beside `Sec-Fetch-Site: same-origin`: the console's `Referrer-Policy: no-referrer` makes
 * Chromium send `Origin: null` on its own form posts. A request with neither header is refused:
 * every browser that runs the console sends at least one on a POST.
 */
export function sameOrigin(headers: IncomingHttpHeaders): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = headers.origin;
  if (origin === undefined || origin === 'null') return site === 'same-origin';
  const host = headers.host;
  if (host === undefined) return false;
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host === new URL(`http://${host}`).host;
  } catch {
    return false;
  }
}

/** The session's CSRF token was submitted (compared in constant time). */
export function csrfMatches(session: Session, submitted: string | null): boolean {
  return submitted !== null && submitted !== '' && safeEqual(submitted, session.csrf);
}

/** The value of the console cookie, if the request carries exactly one. */
export function sessionCookie(headers: IncomingHttpHeaders): string | undefined {
  const values: string[] = [];
  for (const part of (headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === COOKIE) values.push(part.slice(i + 1).trim());
  }
  // Two cookies of this name (one planted for a parent path or domain): trust neither.
  return values.length === 1 ? values[0] : undefined;
}

export function setCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${COOKIE}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export function clearCookie(secure: boolean): string {
  return setCookie('', 0, secure);
}

/** Sent with every console answer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
});
