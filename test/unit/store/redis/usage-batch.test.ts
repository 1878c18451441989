// The request path's call counters on a real redis-server (usage-batch.ts): one script call per
// turn of the event loop carries every count and read of the turn, a read sees every call counted
// before it, and the script is there again after a Redis restart (empty script cache) and after
// SCRIPT FLUSH on a live connection.

import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { openRedisStores } from '../../../../src/store/redis/open.js';
import type { Stores } from '../../../../src/store/stores.js';
import { useRedisServer } from '../../../helpers/redis-server.js';
import { until } from '../../../helpers/wait.js';

const { server, afterTest } = useRedisServer();

let n = 0;
async function open(): Promise<{ stores: Stores; commands: () => Promise<Record<string, number>> }> {
  const stores = await openRedisStores({ url: server().url, prefix: `batch${++n}:`, maxStalenessMs: 5_000 });
  const admin = new Redis(server().url);
  afterTest(async () => {
    await stores.close();
    admin.disconnect();
  });
  await stores.tasks.create({ id: 't1', agent: 'a1', user: { id: 'u' }, stage: 'plan', risk: 'low', scopes: [], created_at: 1, expires_at: 9e12 });
  await stores.tasks.create({ id: 't2', agent: 'a1', user: { id: 'u' }, stage: 'plan', risk: 'low', scopes: [], created_at: 1, expires_at: 9e12 });
  /** Calls per command name since the server started, those of scripts included (INFO commandstats). */
  const commands = async (): Promise<Record<string, number>> => {
    const info = await admin.info('commandstats');
    return Object.fromEntries([...info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  };
  return { stores, commands };
}

describe('UsageBatch', () => {
  it('sends the counts and reads of one turn as one script call; every read sees the counts before it', async () => {
    const { stores, commands } = await open();
    const before = await commands();
    const reads: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      stores.usage.recordCall('t1', i % 2 ? 'plan' : 'execute');
      reads.push(stores.usage.usage('t1', 'plan'), stores.usage.usage('t1', 'execute'), stores.usage.usage('t2', 'plan'));
    }
    stores.usage.recordCall('t2', 'plan');
    const got = await Promise.all(reads);
    const after = await commands();
    expect((after.evalsha ?? 0) - (before.evalsha ?? 0)).toBe(1);
    expect((after.eval ?? 0) - (before.eval ?? 0)).toBe(0);
    // Inside the script: one HMGET per task and stage read (3), not per read (30).
    expect((after.hmget ?? 0) - (before.hmget ?? 0)).toBe(3);
    // Reads of one task and stage in a turn share the reply (frozen), taken after the turn's counts.
    expect(got.slice(-3)).toEqual([{ calls: 10, stage_calls: 5 }, { calls: 10, stage_calls: 5 }, { calls: 1, stage_calls: 1 }]);
    expect(Object.isFrozen(got[0])).toBe(true);
    // The next turn's read sees the previous turn's counts.
    stores.usage.recordCall('t1', 'plan');
    expect(await stores.usage.usage('t1', 'plan')).toEqual({ calls: 11, stage_calls: 6 });
  });

  it('counts and reads after SCRIPT FLUSH on a live connection (NOSCRIPT: sent again as EVAL)', async () => {
    const { stores } = await open();
    const admin = new Redis(server().url);
    try {
      await admin.script('FLUSH');
    } finally {
      admin.disconnect();
    }
    stores.usage.recordCall('t1', 'plan');
    expect(await stores.usage.usage('t1', 'plan')).toEqual({ calls: 1, stage_calls: 1 });
  });

  it('after a Redis restart (empty script cache) the first count is kept and seen by the next read', async () => {
    const { stores } = await open();
    stores.usage.recordCall('t1', 'plan');
    expect(await stores.usage.usage('t1', 'plan')).toEqual({ calls: 1, stage_calls: 1 });
    await server().kill();
    try {
      await expect(stores.usage.usage('t1', 'plan')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      await server().restart();
    }
    // Reconnected: the reads succeed again (AOF brought the count back).
    await until(() => Promise.resolve(stores.usage.usage('t1', 'plan')).then(() => true, () => false));
    stores.usage.recordCall('t1', 'plan');
    expect(await stores.usage.usage('t1', 'plan')).toEqual({ calls: 2, stage_calls: 2 });
    const admin = new Redis(server().url);
    try {
      // Loaded on the reconnection, not found missing by a NOSCRIPT reply.
      expect(await admin.info('errorstats')).not.toMatch(/NOSCRIPT/);
    } finally {
      admin.disconnect();
    }
  });
});
