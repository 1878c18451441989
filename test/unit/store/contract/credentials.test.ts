// The CredentialStore contract on every backend (backends.ts): what the just-in-time credentials
// rely on. Replace returns the replaced one; taking removes, once, whichever process took it;
// "ended" is strictly before now, and a credential without an owner end is never taken by time.

import { describe, expect, it } from 'vitest';
import type { IssuedCredential } from '../../../../src/store/credentials.js';
import { useBackends } from './backends.js';

const backends = useBackends();

function cred(over: Partial<IssuedCredential> = {}): IssuedCredential {
  const owner = over.owner ?? 'task-1';
  const lane = over.lane ?? 'read';
  return {
    id: `cred-${owner}-${lane}`,
    cache_key: JSON.stringify([owner, 'agent-1', 'github', lane, null, null]),
    owner,
    agent: 'agent-1',
    upstream: 'github',
    lane,
    kind: 'client_credentials',
    token: `token-${owner}-${lane}`,
    issued_at: 1_000,
    expires_at: 301_000,
    owner_ends_at: 3_600_000,
    ...over,
  };
}

describe.each(Object.keys(backends))('CredentialStore on %s', (kind) => {
  const open = backends[kind]!;

  it('round-trips every field, optional ones absent when not set', async () => {
    const { stores } = await open();
    const full = cred({ scope: 'repo:read', resource: 'https://api.example/v1', revocation_url: 'https://as.example/revoke', kind: 'token_exchange' });
    const { owner_ends_at: _none, ...bare } = cred({ owner: 'agent:agent-1' });
    expect(await stores.credentials.put(full)).toBeUndefined();
    expect(await stores.credentials.put(bare)).toBeUndefined();
    expect(await stores.credentials.get(full.cache_key)).toEqual(full);
    expect(await stores.credentials.get(bare.cache_key)).toEqual(bare);
    expect(await stores.credentials.get('["nobody"]')).toBeUndefined();
  });

  it('put replaces what is cached under the key and returns the replaced credential', async () => {
    const { stores } = await open();
    const first = cred();
    const second = cred({ id: 'cred-renewed', token: 'token-renewed', issued_at: 250_000, expires_at: 550_000 });
    await stores.credentials.put(first);
    expect(await stores.credentials.put(second)).toEqual(first);
    expect(await stores.credentials.get(first.cache_key)).toEqual(second);
    // Taken once: the owner has one credential, the renewed one.
    expect(await stores.credentials.takeOwner('task-1')).toEqual([second]);
  });

  it('takeOwner removes and returns exactly the owner\'s credentials, once', async () => {
    const { stores } = await open();
    const mine = [cred({ lane: 'read' }), cred({ lane: 'write' })];
    const theirs = cred({ owner: 'task-2' });
    for (const c of [...mine, theirs]) await stores.credentials.put(c);
    const taken = await stores.credentials.takeOwner('task-1');
    expect(taken.map((c) => c.id).sort()).toEqual(['cred-task-1-read', 'cred-task-1-write']);
    expect(await stores.credentials.takeOwner('task-1')).toEqual([]);
    expect(await stores.credentials.get(mine[0]!.cache_key)).toBeUndefined();
    expect(await stores.credentials.get(theirs.cache_key)).toEqual(theirs);
  });

  it('takeEnded takes the credentials of owners that ended strictly before now, never those without an end', async () => {
    const { stores } = await open();
    const ended = cred({ owner: 'task-ended', owner_ends_at: 5_000 });
    const endsNow = cred({ owner: 'task-now', owner_ends_at: 6_000 });
    const { owner_ends_at: _none, ...open_ } = cred({ owner: 'agent:agent-1' });
    for (const c of [ended, endsNow, open_]) await stores.credentials.put(c);
    expect(await stores.credentials.takeEnded(6_000)).toEqual([ended]);
    expect(await stores.credentials.takeEnded(6_000)).toEqual([]);
    expect(await stores.credentials.takeEnded(6_001)).toEqual([endsNow]);
    expect(await stores.credentials.takeEnded(Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(await stores.credentials.get(open_.cache_key)).toEqual(open_);
  });

  it('what one process put, another (or the next start) takes', async () => {
    const { stores, reopen } = await open();
    await stores.credentials.put(cred());
    const other = await reopen();
    expect(await other.credentials.takeOwner('task-1')).toEqual([cred()]);
    expect(await stores.credentials.get(cred().cache_key)).toBeUndefined();
  });
});
