// KeyRing on Redis: one hash of published keys (`<prefix>keys`, kid → JSON), announced on the
// store channel so that sidecars reload it at once.

import { keyUse, type KeyRing, type PublishedKey } from '../keys.js';
import type { RedisLink } from './link.js';

export class RedisKeyRing implements KeyRing {
  readonly #link: RedisLink;

  constructor(link: RedisLink) {
    this.#link = link;
  }

  async publish(key: PublishedKey, graceMs: number): Promise<void> {
    const hash = this.#link.key('keys');
    const all = await this.#link.run(() => this.#link.cmd.hgetall(hash));
    const m = this.#link.cmd.multi();
    for (const [kid, doc] of Object.entries(all)) {
      const k = JSON.parse(doc) as PublishedKey;
      if (kid !== key.kid && k.retire_at === undefined && keyUse(k) === 'task') m.hset(hash, kid, JSON.stringify({ ...k, retire_at: key.published_at + graceMs }));
    }
    m.hset(hash, key.kid, JSON.stringify(key));
    await this.#link.run(() => m.exec());
    await this.#link.publish({ t: 'keys' });
  }

  async announce(key: PublishedKey): Promise<void> {
    await this.#link.run(() => this.#link.cmd.hset(this.#link.key('keys'), key.kid, JSON.stringify(key)));
    await this.#link.publish({ t: 'keys' });
  }

  async list(nowMs: number): Promise<PublishedKey[]> {
    const all = await this.#link.run(() => this.#link.cmd.hgetall(this.#link.key('keys')));
    const keys = Object.entries(all).map(([kid, d]) => [kid, JSON.parse(d) as PublishedKey] as const);
    // Retired keys are dropped from the hash as they are found (a sidecar's assertion key ends so).
    const gone = keys.filter(([, k]) => k.retire_at !== undefined && k.retire_at <= nowMs).map(([kid]) => kid);
    if (gone.length > 0) void this.#link.run(() => this.#link.cmd.hdel(this.#link.key('keys'), ...gone)).catch(() => undefined);
    return keys.map(([, k]) => k).filter((k) => k.retire_at === undefined || k.retire_at > nowMs);
  }

  onChange(listener: () => void): void {
    this.#link.onMessage((m) => {
      if (m.t === 'keys') listener();
    });
    this.#link.onReset(listener);
  }
}
