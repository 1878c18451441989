// The fleet's key ring: the public keys that verify task tokens. Whoever signs task tokens (the
// control plane) publishes its public key; every sidecar verifies with every published key that is
// not retired. A key replaced by a newer one stays valid until the longest task token it may have
// signed (`identity.task_tokens.max_ttl`) has expired. Only a shared store (Redis) has one.

import type { Awaitable } from './awaitable.js';

export interface PublishedKey {
  readonly kid: string;
  readonly jwk: Readonly<Record<string, unknown>>;
  readonly published_at: number;
  /** Epoch ms after which the key verifies nothing; absent while it is the signer's current key. */
  readonly retire_at?: number;
}

export interface KeyRing {
  /** Publishes `key` as the current one; every other current key retires `graceMs` from `nowMs`. */
  publish(key: PublishedKey, graceMs: number): Awaitable<void>;
  /** Keys not retired at `nowMs`. */
  list(nowMs: number): Awaitable<PublishedKey[]>;
  /** Called when a key is published anywhere in the fleet. */
  onChange(listener: () => void): void;
}
