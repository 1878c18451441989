// Delays for the OPA-style control-plane clients (bundle server, decision-log collector). The
// shape is OPA's util.DefaultBackoff: base × 1.6^retries, capped, ±20 % jitter, so a fleet of
// sidecars that lost the service at the same moment does not come back in lockstep.

const FACTOR = 1.6;
const JITTER = 0.2;

/** Delay before retry number `retries` (0 for the first retry), in ms. */
export function backoffDelay(baseMs: number, maxMs: number, retries: number, random: () => number = Math.random): number {
  const raw = Math.min(maxMs, baseMs * FACTOR ** retries);
  return Math.max(0, Math.round(raw * (1 - JITTER + 2 * JITTER * random())));
}

/** A delay drawn uniformly between min and max (OPA's polling interval). */
export function jitteredDelay(minMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.round(minMs + (Math.max(minMs, maxMs) - minMs) * random());
}

/** The wait before the next poll or upload: a jittered interval while healthy, backoff after failures. */
export function nextDelay(minMs: number, maxMs: number, retryBaseMs: number, failures: number): number {
  return failures === 0 ? jitteredDelay(minMs, maxMs) : backoffDelay(retryBaseMs, maxMs, failures - 1);
}

/** `Authorization` for a bearer token resolved per request (a rotated `${file:}` applies at once). */
export function bearerHeader(token: (() => string) | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token()}` } : {};
}
