// ToolPinStore in process memory: what a fleet store without its own tool-pin adapter uses. Pins
// then hold per sidecar (trust on first use per process; bundle pins are fleet-wide already);
// a Redis adapter implementing the interface makes them shared.

import type { ToolPinStore, ToolRecord } from '../tool-pins.js';

const key = (upstream: string, tool: string): string => `${upstream}\u0000${tool}`;

export class LocalToolPinStore implements ToolPinStore {
  readonly #records = new Map<string, ToolRecord>();

  get(upstream: string, tool: string): ToolRecord | undefined {
    return this.#records.get(key(upstream, tool));
  }

  observe(upstream: string, tool: string, digest: string, atMs: number): ToolRecord {
    const old = this.#records.get(key(upstream, tool));
    const rec = Object.freeze(old ? { ...old, seen: digest, seen_at: atMs } : { upstream, tool, seen: digest, pin: digest, first_seen_at: atMs, seen_at: atMs, pinned_at: atMs });
    this.#records.set(key(upstream, tool), rec);
    return rec;
  }

  pin(upstream: string, tool: string, atMs: number): ToolRecord | undefined {
    const old = this.#records.get(key(upstream, tool));
    if (!old) return undefined;
    const rec = Object.freeze({ ...old, pin: old.seen, pinned_at: atMs });
    this.#records.set(key(upstream, tool), rec);
    return rec;
  }

  list(): readonly ToolRecord[] {
    return [...this.#records.values()].sort((a, b) => a.upstream.localeCompare(b.upstream) || a.tool.localeCompare(b.tool));
  }
}
