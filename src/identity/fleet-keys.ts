// A fleet member's part in the store's key ring (store/keys.ts). The control plane publishes its
// task-signing key; a sidecar announces the key of its token-exchange assertions, for a limited
// time that it keeps extending while it runs. Every member trusts the published task keys (never
// an assertion key) for task tokens, and serves the fleet's assertion keys as its JWKS, so an
// authorization server that trusts any member's `/.well-known/jwks.json` (the control plane's)
// verifies the assertions of every sidecar.

import type { Logger } from 'pino';
import { keyUse, type KeyRing, type PublishedKey } from '../store/keys.js';
import type { TaskTokens } from './task-tokens.js';

/** How long an announced assertion key stays in the ring without being announced again. */
export const ASSERTION_KEY_LIFE_MS = 60 * 60_000;
const ASSERTION_KEY_REFRESH_MS = ASSERTION_KEY_LIFE_MS / 4;

export interface FleetKeys {
  /** The JWKs of every assertion key of the fleet that is not retired. */
  assertionJwks(): Promise<Record<string, unknown>[]>;
  close(): void;
}

export async function joinKeyRing(ring: KeyRing, tokens: TaskTokens, maxTtlMs: number, ops: Logger): Promise<FleetKeys> {
  // Task tokens verify with published task keys only: an assertion key signs nothing Warden accepts.
  const trustTaskKeys = (keys: readonly PublishedKey[]): void => tokens.trust(keys.filter((k) => keyUse(k) === 'task'));
  const reload = (): void => {
    Promise.resolve(ring.list(Date.now())).then(
      trustTaskKeys,
      (err: unknown) => ops.warn({ err }, 'could not read the fleet key ring'),
    );
  };
  ring.onChange(reload);
  const taskJwk = await tokens.publicJwk();
  // A replaced task key stays valid until the longest task token it may have signed has expired.
  if (taskJwk && tokens.kid) await ring.publish({ kid: tokens.kid, jwk: { ...taskJwk }, published_at: Date.now() }, maxTtlMs);
  const assertion = await tokens.assertionJwk();
  const announce = async (): Promise<void> => {
    if (assertion.kid === tokens.kid) return; // the task key signs this member's assertions: published already
    const now = Date.now();
    await ring.announce({ kid: String(assertion.kid), jwk: { ...assertion }, use: 'assertion', published_at: now, retire_at: now + ASSERTION_KEY_LIFE_MS });
  };
  await announce();
  const timer = setInterval(() => {
    announce().catch((err: unknown) => ops.warn({ err }, 'could not announce the assertion key'));
  }, ASSERTION_KEY_REFRESH_MS);
  timer.unref();
  trustTaskKeys(await ring.list(Date.now()));
  return {
    async assertionJwks() {
      const keys = await ring.list(Date.now());
      return keys.filter((k) => keyUse(k) === 'assertion').map((k) => ({ ...k.jwk }));
    },
    close: () => clearInterval(timer),
  };
}
