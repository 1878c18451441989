// SealingKeyStore on Redis: one string per key (`<prefix>sealing-key:<name>`, base64), set once with
// SET NX by the first sidecar to start; every sidecar of the fleet reads that one.

import { Buffer } from 'node:buffer';
import { checkedSealingKey, newSealingKey, type SealingKeyStore } from '../sealing-keys.js';
import type { RedisLink } from './link.js';

export class RedisSealingKeyStore implements SealingKeyStore {
  readonly #link: RedisLink;

  constructor(link: RedisLink) {
    this.#link = link;
  }

  async get(name: string): Promise<Buffer> {
    const k = this.#link.key('sealing-key', name);
    await this.#link.run(() => this.#link.cmd.set(k, newSealingKey().toString('base64'), 'NX'));
    const stored = await this.#link.run(() => this.#link.cmd.get(k));
    return checkedSealingKey(name, stored === null ? undefined : Buffer.from(stored, 'base64'));
  }
}
