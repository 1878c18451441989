// Symmetric keys Warden seals its own tokens with (the MCP 2026-07-28 `requestState`): each is
// created once, from 32 random bytes, by whichever process asks first, and every later reader gets
// that same key, so a state sealed by one sidecar opens on any other of its fleet and after a
// restart. SQLite keeps them in `state_dir` (store/sqlite/sealing-keys.ts), Redis under the
// store's prefix for the whole fleet (store/redis/sealing-keys.ts). A key is never logged or served.

import { randomBytes } from 'node:crypto';
import type { Awaitable } from './awaitable.js';
import { WardenError } from '../errors.js';

/** Bytes of a sealing key (HMAC-SHA256). */
export const SEALING_KEY_BYTES = 32;

/** The key of Warden's MRTR `requestState` (src/mcp/request-state.ts). */
export const REQUEST_STATE_KEY = 'mcp-request-state';

export interface SealingKeyStore {
  /** The key named `name`: created atomically on first use, the same for every caller after. */
  get(name: string): Awaitable<Buffer>;
}

/** A fresh key, for a store to offer on first use. */
export const newSealingKey = (): Buffer => randomBytes(SEALING_KEY_BYTES);

/** The stored key, checked: a store holding anything else fails closed (the value is never shown). */
export function checkedSealingKey(name: string, key: Buffer | undefined): Buffer {
  if (key?.length !== SEALING_KEY_BYTES) throw new WardenError('STORE_UNAVAILABLE', `sealing key ${name}: the store holds no ${SEALING_KEY_BYTES}-byte key`);
  return key;
}
