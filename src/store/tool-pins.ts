// The tool-pin store: per upstream and tool, the definition digest last seen in a `tools/list`
// result and the pin it is compared with (trust on first use, or a reviewed re-pin). SQLite
// implements it today (store/sqlite/tool-pin-store.ts); a fleet store (Redis) is another file
// implementing this interface, so every sidecar of a fleet compares against the same pin.

import type { Awaitable } from './awaitable.js';

export interface ToolRecord {
  readonly upstream: string;
  readonly tool: string;
  /** Digest of the definition last seen (`sha256:<hex>`). */
  readonly seen: string;
  /** The store's pin: the first definition seen, or the one accepted by `pin`. */
  readonly pin: string;
  /** Epoch milliseconds. */
  readonly first_seen_at: number;
  readonly seen_at: number;
  readonly pinned_at: number;
}

export interface ToolPinStore {
  get(upstream: string, tool: string): Awaitable<ToolRecord | undefined>;
  /**
   * Records a definition seen in a listing. The first one for a tool becomes its pin (trust on
   * first use) atomically, so two sidecars racing on a first listing agree on one pin. Returns the
   * record after the write.
   */
  observe(upstream: string, tool: string, digest: string, atMs: number): Awaitable<ToolRecord>;
  /** Accepts the definition last seen as the pin; undefined when the tool was never seen. */
  pin(upstream: string, tool: string, atMs: number): Awaitable<ToolRecord | undefined>;
  list(): Awaitable<readonly ToolRecord[]>;
}
