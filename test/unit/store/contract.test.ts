// The store ports' contracts, run on both adapters: SQLite in a temp dir and a real redis-server.
// What a domain may rely on whichever backend runs it (a new backend runs this file too):
// credentials (replace returns the replaced one; taking removes, once; "ended" is strictly before
// now) and agents (create refuses a taken id or subject and writes nothing; update; activity).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRecord } from '../../../src/store/agents.js';
import type { IssuedCredential } from '../../../src/store/credentials.js';
import { openRedisStores } from '../../../src/store/redis/open.js';
import { openSqliteStores } from '../../../src/store/sqlite/open.js';
import type { Stores } from '../../../src/store/stores.js';
import { startRedis, type TestRedis } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.close();
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let prefixes = 0;

/** Opens a fresh backend; `reopen()` opens the same state again (a restart, or another process). */
const backends: Record<string, () => Promise<{ stores: Stores; reopen(): Promise<Stores> }>> = {
  sqlite: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'store-contract-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const open = (): Stores => {
      const s = openSqliteStores(dir);
      cleanups.push(() => s.close());
      return s;
    };
    return { stores: open(), reopen: async () => open() };
  },
  redis: async () => {
    const opts = { url: redis.url, prefix: `contract${++prefixes}:`, maxStalenessMs: 5_000 };
    const open = async (): Promise<Stores> => {
      const s = await openRedisStores(opts);
      cleanups.push(() => s.close());
      return s;
    };
    return { stores: await open(), reopen: open };
  },
};

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

function agent(id: string, over: Partial<AgentRecord> = {}): AgentRecord {
  return { id, owner: 'platform-team', scopes: ['github:read'], status: 'active', subjects: [], created_at: 1_000, updated_at: 1_000, ...over };
}

describe.each(Object.keys(backends))('stores on %s', (kind) => {
  const open = backends[kind]!;

  describe('CredentialStore', () => {
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

  describe('AgentStore', () => {
    it('creates an agent and finds it by id and by each of its subjects', async () => {
      const { stores } = await open();
      const rec = agent('coder', { description: 'writes code', max_risk: 'medium', subjects: [{ issuer: 'spire', subject: 'spiffe://acme/coder' }, { issuer: 'corp', subject: 'svc-coder' }] });
      expect(await stores.agents.create(rec)).toBe(true);
      expect(await stores.agents.get('coder')).toEqual(rec);
      expect(await stores.agents.bySubject('corp', 'svc-coder')).toEqual(rec);
      expect(await stores.agents.bySubject('spire', 'spiffe://acme/coder')).toEqual(rec);
      // Issuer and subject are matched as a pair, exactly.
      expect(await stores.agents.bySubject('spire', 'svc-coder')).toBeUndefined();
      expect(await stores.agents.bySubject('corp', 'SVC-CODER')).toBeUndefined();
      expect(await stores.agents.get('nobody')).toBeUndefined();
    });

    it('refuses a taken id or a subject mapped to another agent, and writes nothing of the refused record', async () => {
      const { stores } = await open();
      await stores.agents.create(agent('coder', { subjects: [{ issuer: 'corp', subject: 'svc-coder' }] }));
      expect(await stores.agents.create(agent('coder', { owner: 'intruder' }))).toBe(false);
      expect(await stores.agents.create(agent('thief', { subjects: [{ issuer: 'corp', subject: 'fresh' }, { issuer: 'corp', subject: 'svc-coder' }] }))).toBe(false);
      expect(await stores.agents.get('coder')).toMatchObject({ owner: 'platform-team' });
      expect(await stores.agents.get('thief')).toBeUndefined();
      expect(await stores.agents.bySubject('corp', 'fresh')).toBeUndefined();
      expect((await stores.agents.list()).map((a) => a.id)).toEqual(['coder']);
    });

    it('update changes owner, scopes and status, keeps the rest, and answers undefined for an unknown agent', async () => {
      const { stores, reopen } = await open();
      const rec = agent('coder', { description: 'writes code', subjects: [{ issuer: 'corp', subject: 'svc-coder' }] });
      await stores.agents.create(rec);
      const next = await stores.agents.update('coder', { status: 'suspended', scopes: ['github:*', 'tools:read'], updated_at: 2_000 });
      expect(next).toEqual({ ...rec, status: 'suspended', scopes: ['github:*', 'tools:read'], updated_at: 2_000 });
      expect(await stores.agents.update('coder', { owner: 'security', updated_at: 3_000 })).toEqual({ ...next, owner: 'security', updated_at: 3_000 });
      expect(await stores.agents.update('nobody', { status: 'retired', updated_at: 4_000 })).toBeUndefined();
      // Seen by another process / after a restart, subject index included.
      const other = await reopen();
      expect(await other.agents.bySubject('corp', 'svc-coder')).toEqual({ ...next, owner: 'security', updated_at: 3_000 });
      expect((await other.agents.list()).map((a) => a.id)).toEqual(['coder']);
    });

    it('keeps activity at one-second resolution, only moving forward, and writes it for the next start', async () => {
      const { stores, reopen } = await open();
      await stores.agents.create(agent('coder'));
      stores.agents.touch('coder', 10_000);
      stores.agents.touch('coder', 10_500); // within the second: not written
      stores.agents.touch('nobody', 10_000); // unknown agents are ignored
      await stores.close();
      const next = await reopen();
      await until(async () => (await next.agents.list())[0]?.last_activity === 10_000);
      expect(await next.agents.get('nobody')).toBeUndefined();
    });
  });
});
