// The fleet's key ring: the public keys that verify task tokens, and those of token-exchange
// assertions. Whoever signs task tokens (the control plane) publishes its public key; every sidecar
// verifies task tokens with every published `task` key that is not retired. A task key replaced by
// a newer one stays valid until the longest task token it may have signed
// (`identity.task_tokens.max_ttl`) has expired. Each sidecar announces the key of its own
// token-exchange assertions (`use: assertion`); those keys verify no task token. Only a shared
// store (Redis) has a key ring.

import type { Awaitable } from './awaitable.js';

export type KeyUse = 'task' | 'assertion';

export interface PublishedKey {
  readonly kid: string;
  readonly jwk: Readonly<Record<string, unknown>>;
  readonly published_at: number;
  /** Epoch ms after which the key verifies nothing; absent while it is the signer's current key. */
  readonly retire_at?: number;
  /** What the key verifies; absent: `task`. */
  readonly use?: KeyUse;
}

/** A published key's use. */
export const keyUse = (k: PublishedKey): KeyUse => k.use ?? 'task';

export interface KeyRing {
  /** Publishes `key` as the current task key; every other current task key retires `graceMs` from `nowMs`. */
  publish(key: PublishedKey, graceMs: number): Awaitable<void>;
  /**
   * Adds or replaces `key` as it is, leaving every other key alone: a sidecar's assertion key
   * (re-announced before its `retire_at`), or a former signer's task key brought over by
   * `warden store migrate` (retiring when its tokens have expired).
   */
  announce(key: PublishedKey): Awaitable<void>;
  /** Keys not retired at `nowMs`. */
  list(nowMs: number): Awaitable<PublishedKey[]>;
  /** Called when a key is published anywhere in the fleet. */
  onChange(listener: () => void): void;
}
