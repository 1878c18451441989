// ToolPinStore on Redis: one pin per upstream and tool for the whole fleet. A tool is a hash
// (`<prefix>tool:<upstream> <tool>`); the first definition seen becomes the pin in one Lua script,
// so two sidecars racing on a first listing agree on one pin.

import type { ToolPinStore, ToolRecord } from '../tool-pins.js';
import type { RedisLink } from './link.js';

const FIELDS = ['seen', 'pin', 'first_seen_at', 'seen_at', 'pinned_at'] as const;

// KEYS: tool, index. ARGV: digest, at, index member.
const OBSERVE = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'seen', ARGV[1], 'pin', ARGV[1], 'first_seen_at', ARGV[2], 'seen_at', ARGV[2], 'pinned_at', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
else
  redis.call('HSET', KEYS[1], 'seen', ARGV[1], 'seen_at', ARGV[2])
end
return redis.call('HMGET', KEYS[1], 'seen', 'pin', 'first_seen_at', 'seen_at', 'pinned_at')`;

// KEYS: tool. ARGV: at. The pin becomes the definition last seen; false when never seen.
const PIN = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'pin', redis.call('HGET', KEYS[1], 'seen'), 'pinned_at', ARGV[1])
return redis.call('HMGET', KEYS[1], 'seen', 'pin', 'first_seen_at', 'seen_at', 'pinned_at')`;

// KEYS: tool, index. ARGV: index member, seen, pin, first_seen_at, seen_at, pinned_at. 1 written, 0 present.
const IMPORT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'seen', ARGV[2], 'pin', ARGV[3], 'first_seen_at', ARGV[4], 'seen_at', ARGV[5], 'pinned_at', ARGV[6])
redis.call('SADD', KEYS[2], ARGV[1])
return 1`;

function record(upstream: string, tool: string, v: readonly (string | null)[] | null): ToolRecord | undefined {
  if (!v || v[0] == null || v[1] == null) return undefined;
  return Object.freeze({ upstream, tool, seen: v[0], pin: v[1], first_seen_at: Number(v[2]), seen_at: Number(v[3]), pinned_at: Number(v[4]) });
}

export class RedisToolPinStore implements ToolPinStore {
  readonly #link: RedisLink;

  constructor(link: RedisLink) {
    this.#link = link;
  }

  #member(upstream: string, tool: string): string {
    return `${upstream} ${tool}`;
  }

  async get(upstream: string, tool: string): Promise<ToolRecord | undefined> {
    const v = await this.#link.run(() => this.#link.cmd.hmget(this.#link.key('tool', this.#member(upstream, tool)), ...FIELDS));
    return record(upstream, tool, v);
  }

  async observe(upstream: string, tool: string, digest: string, atMs: number): Promise<ToolRecord> {
    const m = this.#member(upstream, tool);
    const v = await this.#link.run(() => this.#link.cmd.eval(OBSERVE, 2, this.#link.key('tool', m), this.#link.key('tools'), digest, String(atMs), m)) as (string | null)[];
    return record(upstream, tool, v)!;
  }

  async pin(upstream: string, tool: string, atMs: number): Promise<ToolRecord | undefined> {
    const v = await this.#link.run(() => this.#link.cmd.eval(PIN, 1, this.#link.key('tool', this.#member(upstream, tool)), String(atMs))) as (string | null)[] | null;
    return record(upstream, tool, v);
  }

  /** The record as it is (pin included), unless the tool is known (`warden store migrate`). */
  async importToolPin(r: ToolRecord): Promise<boolean> {
    const m = this.#member(r.upstream, r.tool);
    return (await this.#link.run(() => this.#link.cmd.eval(
      IMPORT, 2, this.#link.key('tool', m), this.#link.key('tools'), m, r.seen, r.pin, String(r.first_seen_at), String(r.seen_at), String(r.pinned_at),
    ))) === 1;
  }

  async list(): Promise<readonly ToolRecord[]> {
    const members = (await this.#link.run(() => this.#link.cmd.smembers(this.#link.key('tools')))).sort();
    const out: ToolRecord[] = [];
    for (const m of members) {
      const i = m.indexOf(' ');
      const r = await this.get(m.slice(0, i), m.slice(i + 1));
      if (r) out.push(r);
    }
    return out.sort((a, b) => a.upstream.localeCompare(b.upstream) || a.tool.localeCompare(b.tool));
  }
}
