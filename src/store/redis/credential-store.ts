// CredentialStore on Redis: just-in-time downstream tokens shared by a fleet, so that whichever
// process ends a task revokes the tokens every sidecar minted for it. A credential is a JSON
// document under its cache key; each owner (task) has a set of its keys, and owners' end times
// are a sorted set. Taking (removing) is one Lua script: a token is revoked by one process only.

import type { CredentialStore, IssuedCredential } from '../credentials.js';
import type { RedisLink } from './link.js';

// KEYS: owner set. ARGV: credential key prefix. Removes and returns the owner's docs.
const TAKE_OWNER = `
local out = {}
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local doc = redis.call('GET', ARGV[1] .. k)
  if doc then table.insert(out, doc) redis.call('DEL', ARGV[1] .. k) end
end
redis.call('DEL', KEYS[1])
return out`;

export class RedisCredentialStore implements CredentialStore {
  readonly #link: RedisLink;

  constructor(link: RedisLink) {
    this.#link = link;
  }

  #k(cacheKey: string): string {
    return this.#link.key('cred', cacheKey);
  }

  async get(cacheKey: string): Promise<IssuedCredential | undefined> {
    const doc = await this.#link.run(() => this.#link.cmd.get(this.#k(cacheKey)));
    return doc == null ? undefined : (JSON.parse(doc) as IssuedCredential);
  }

  async put(cred: IssuedCredential): Promise<IssuedCredential | undefined> {
    const m = this.#link.cmd.multi().get(this.#k(cred.cache_key)).set(this.#k(cred.cache_key), JSON.stringify(cred)).sadd(this.#link.key('cred-owner', cred.owner), cred.cache_key);
    if (cred.owner_ends_at !== undefined) m.zadd(this.#link.key('cred-ends'), cred.owner_ends_at, `${cred.owner}`);
    const res = await this.#link.run(() => m.exec());
    const prev = res?.[0]?.[1] as string | null | undefined;
    return prev == null ? undefined : (JSON.parse(prev) as IssuedCredential);
  }

  async takeOwner(owner: string): Promise<IssuedCredential[]> {
    const docs = await this.#link.run(() => this.#link.cmd.eval(TAKE_OWNER, 1, this.#link.key('cred-owner', owner), this.#link.key('cred', ''))) as string[];
    await this.#link.run(() => this.#link.cmd.zrem(this.#link.key('cred-ends'), owner));
    return docs.map((d) => JSON.parse(d) as IssuedCredential);
  }

  async takeEnded(nowMs: number): Promise<IssuedCredential[]> {
    const owners = await this.#link.run(() => this.#link.cmd.zrangebyscore(this.#link.key('cred-ends'), '-inf', `(${nowMs}`));
    const out: IssuedCredential[] = [];
    for (const owner of owners) out.push(...(await this.takeOwner(owner)));
    return out;
  }

  close(): void {}
}
