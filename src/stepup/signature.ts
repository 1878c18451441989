// `Warden-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, the
// scheme Stripe uses for its webhooks: the timestamp inside the MAC stops replays beyond the
// tolerance, and receivers verify over the raw bytes, before any JSON parsing.

import { Buffer } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'warden-signature';

// Strict on purpose: one timestamp, one v1 MAC, nothing else; anything looser is a parser
// difference an attacker could probe.
const HEADER = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/;

function mac(secret: string, t: string, rawBody: string | Uint8Array): Buffer {
  const h = createHmac('sha256', secret);
  h.update(`${t}.`);
  h.update(rawBody);
  return h.digest();
}

/** The `Warden-Signature` header value for `rawBody`, signed at `nowSeconds` (default: now). */
export function signPayload(secret: string, rawBody: string | Uint8Array, nowSeconds: number = Math.floor(Date.now() / 1000)): string {
  const t = String(Math.floor(nowSeconds));
  return `t=${t},v1=${mac(secret, t, rawBody).toString('hex')}`;
}

export interface VerifyOptions {
  /** Largest accepted distance between the signed time and now, in seconds. */
  toleranceSeconds?: number;
  /** Now, in unix seconds (tests). */
  now?: number;
}

/** True when `header` is a well-formed signature of `rawBody` by `secret`, made within tolerance. */
export function verifySignature(
  secret: string,
  header: string | undefined | null,
  rawBody: string | Uint8Array,
  { toleranceSeconds = 300, now = Math.floor(Date.now() / 1000) }: VerifyOptions = {},
): boolean {
  if (typeof header !== 'string' || secret === '') return false;
  const m = HEADER.exec(header.trim());
  if (!m) return false;
  const t = m[1]!;
  // Both directions: a timestamp far in the future is as suspicious as a stale one.
  if (Math.abs(now - Number(t)) > toleranceSeconds) return false;
  const expected = mac(secret, t, rawBody);
  const given = Buffer.from(m[2]!, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
