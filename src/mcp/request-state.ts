// The `requestState` Warden puts in an MCP 2026-07-28 `input_required` result (multi round-trip
// requests, MRTR). The client echoes it byte for byte on its retry, so it must carry its own
// integrity: an HMAC-SHA256 over the claims, bound to the task, the exact call (its binding
// digest: method, target, arguments), the approval it waits for or continues, and an expiry. When
// the upstream server continues an approved call over several rounds, its own `requestState`
// rides inside (`inner`) and is handed back to it unchanged on the next round.

import { Buffer } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';

const PREFIX = 'warden1.';

export interface RequestStateClaims {
  /** Task the call belongs to. */
  readonly task: string;
  /** Binding digest of the call (stepup binding: method, target (tool, prompt name or resource URI), arguments; not the JSON-RPC id). */
  readonly call: string;
  /** The approval this state waits for (step-up) or continues (server rounds). */
  readonly approval: string;
  /** Expiry, ms since the epoch. */
  readonly exp: number;
  /** The upstream server's own requestState, handed back to it on the next round. */
  readonly inner?: string;
  /**
   * Set on a server round of a call whose approval was spent on it: the next round continues
   * that call on the same approval. Absent on the state of a step-up waiting for its approval.
   */
  readonly continuation?: true;
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(PREFIX).update(payload).digest();
}

export function sealRequestState(key: Buffer, claims: RequestStateClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${PREFIX}${payload}.${mac(key, payload).toString('base64url')}`;
}

/** Whether a requestState looks like one of Warden's (it may still fail to open). */
export function isWardenRequestState(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

export type OpenResult = { readonly ok: true; readonly claims: RequestStateClaims } | { readonly ok: false; readonly why: 'malformed' | 'forged' | 'expired' };

/** Verify and decode; `now` in ms. A state of another task or call is the caller's to check. */
export function openRequestState(key: Buffer, token: string, now: number): OpenResult {
  if (!token.startsWith(PREFIX)) return { ok: false, why: 'malformed' };
  const [payload, sig, ...rest] = token.slice(PREFIX.length).split('.');
  if (!payload || !sig || rest.length > 0) return { ok: false, why: 'malformed' };
  const want = mac(key, payload);
  const got = Buffer.from(sig, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, why: 'forged' };
  let claims: RequestStateClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as RequestStateClaims;
  } catch {
    return { ok: false, why: 'malformed' };
  }
  if (typeof claims.task !== 'string' || typeof claims.call !== 'string' || typeof claims.approval !== 'string' || typeof claims.exp !== 'number') return { ok: false, why: 'malformed' };
  if (claims.inner !== undefined && typeof claims.inner !== 'string') return { ok: false, why: 'malformed' };
  if (claims.continuation !== undefined && claims.continuation !== true) return { ok: false, why: 'malformed' };
  if (claims.exp <= now) return { ok: false, why: 'expired' };
  return { ok: true, claims };
}
