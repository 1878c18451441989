// The request path's call counters on a real redis-server (usage-batch.ts): a task and stage is read
// once per READ_FRESH_MS (one HMGET for a turn's requests); counts are written in batches, seen at
// once by the process that counted them and by every other once written, never twice; and the
// script is there again after a Redis restart (empty script cache) and after SCRIPT FLUSH.

import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { openRedisStores } from '../../../../src/store/redis/open.js';
import { READ_FRESH_MS, UsageBatch } from '../../../../src/store/redis/usage-batch.js';
import type { Stores } from '../../../../src/store/stores.js';
import { useRedisServer } from '../../../helpers/redis-server.js';
import { until } from '../../../helpers/wait.js';

const { server, afterTest } = useRedisServer();

let n = 0;
/** A connection (two fleet members' batches on it), its own prefix with tasks t1 and t2 created. */
async function connection(): Promise<{ redis: Redis; key: (id: string) => string; commands: () => Promise<Record<string, number>> }> {
  const redis = new Redis(server().url, { enableOfflineQueue: false, lazyConnect: true });
  await redis.connect();
  afterTest(() => redis.disconnect());
  const prefix = `batch${++n}:`;
  const key = (id: string): string => `${prefix}task:${id}`;
  for (const id of ['t1', 't2']) await redis.hset(key(id), { agent: 'a1', calls: '0' });
  /** Calls per command name since the server started, those of scripts included (INFO commandstats). */
  const commands = async (): Promise<Record<string, number>> => {
    const info = await redis.info('commandstats');
    return Object.fromEntries([...info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  };
  return { redis, key, commands };
}

const delta = (a: Record<string, number>, b: Record<string, number>, name: string): number => (b[name] ?? 0) - (a[name] ?? 0);

describe('UsageBatch', () => {
  it('reads once per READ_FRESH_MS per task and stage (one HMGET a turn), adding its own counts Redis does not hold, never twice', async () => {
    const { redis, key, commands } = await connection();
    const clock = { t: 0 };
    const opts = { countEveryMs: 60_000, now: () => clock.t };
    const a = new UsageBatch(redis, opts);
    const b = new UsageBatch(redis, opts); // another fleet member
    const before = await commands();
    const reads: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      a.count(key('t1'), i % 2 ? 's:plan' : 's:execute');
      reads.push(a.read(key('t1'), 's:plan'), a.read(key('t1'), 's:execute'), a.read(key('t2'), 's:plan'), b.read(key('t1'), 's:plan'));
    }
    const got = await Promise.all(reads);
    const after = await commands();
    // One HMGET per task and stage read in the turn (4), not per read (40); no count written yet.
    expect(delta(before, after, 'hmget')).toBe(4);
    for (const write of ['evalsha', 'eval', 'hincrby']) expect(delta(before, after, write)).toBe(0);
    // The counting member sees its counts (reads of a task and stage share one frozen reply), the other not yet.
    expect(got.slice(-4)).toEqual([{ calls: 10, stage_calls: 5 }, { calls: 10, stage_calls: 5 }, { calls: 0, stage_calls: 0 }, { calls: 0, stage_calls: 0 }]);
    expect(Object.isFrozen(got[0])).toBe(true);
    // Within READ_FRESH_MS: answered from memory at once, with the own counts made since.
    a.count(key('t1'), 's:plan');
    expect(a.read(key('t1'), 's:plan')).toEqual({ calls: 11, stage_calls: 6 });
    expect(a.read(key('t1'), 's:execute')).toEqual({ calls: 11, stage_calls: 5 });
    expect(b.read(key('t1'), 's:plan')).toEqual({ calls: 0, stage_calls: 0 });
    expect(delta(after, await commands(), 'hmget')).toBe(0);
    // Past it, read again: counts sent ahead of the read are in Redis's answer, not added again.
    clock.t += READ_FRESH_MS + 1;
    const inFlight = a.read(key('t1'), 's:plan');
    a.flush();
    expect(await inFlight).toEqual({ calls: 11, stage_calls: 6 });
    a.count(key('t1'), 's:plan'); // after the read: added
    expect(a.read(key('t1'), 's:plan')).toEqual({ calls: 12, stage_calls: 7 });
    clock.t += READ_FRESH_MS + 1;
    expect(await b.read(key('t1'), 's:plan')).toEqual({ calls: 11, stage_calls: 6 });
    // A read sent while counts are unsent adds them; once sent, the next read has them from Redis.
    expect(await a.read(key('t1'), 's:plan')).toEqual({ calls: 12, stage_calls: 7 });
    a.flush();
    clock.t += READ_FRESH_MS + 1;
    expect(await a.read(key('t1'), 's:plan')).toEqual({ calls: 12, stage_calls: 7 });
    expect(await b.read(key('t1'), 's:execute')).toEqual({ calls: 12, stage_calls: 5 });
  });

  it('writes counts within its interval unasked; a task Redis does not hold reads 0, counted or not', async () => {
    const { redis, key } = await connection();
    const a = new UsageBatch(redis);
    const b = new UsageBatch(redis);
    a.count(key('t1'), 's:plan');
    a.count(key('ghost'), 's:plan');
    expect(await a.read(key('ghost'), 's:plan')).toEqual({ calls: 0, stage_calls: 0 });
    await until(async () => (await b.read(key('t1'), 's:plan')).calls === 1);
    expect(await redis.exists(key('ghost'))).toBe(0);
    expect(await a.read(key('ghost'), 's:plan')).toEqual({ calls: 0, stage_calls: 0 });
  });

  it('counts and reads after SCRIPT FLUSH on a live connection (NOSCRIPT: sent again as EVAL)', async () => {
    const { redis, key } = await connection();
    const a = new UsageBatch(redis);
    expect(await a.read(key('t1'), 's:plan')).toEqual({ calls: 0, stage_calls: 0 });
    await redis.script('FLUSH');
    a.count(key('t1'), 's:plan');
    a.flush();
    const b = new UsageBatch(redis);
    await until(async () => (await b.read(key('t1'), 's:plan')).calls === 1);
    expect(await a.read(key('t1'), 's:plan')).toEqual({ calls: 1, stage_calls: 1 });
  });

  it('keeps a count made while Redis is down until it returns; after a restart (empty script cache) no NOSCRIPT', async () => {
    const stores: Stores = await openRedisStores({ url: server().url, prefix: `batch${++n}:`, maxStalenessMs: 5_000 });
    afterTest(() => stores.close());
    await stores.tasks.create({ id: 't1', agent: 'a1', user: { id: 'u' }, stage: 'plan', risk: 'low', scopes: [], created_at: 1, expires_at: 9e12 });
    const usage = (): Promise<unknown> => Promise.resolve().then(() => stores.usage.usage('t1', 'plan'));
    stores.usage.recordCall('t1', 'plan');
    expect(await usage()).toEqual({ calls: 1, stage_calls: 1 });
    await server().kill();
    try {
      // Once its last read is past READ_FRESH_MS, a read fails.
      await until(() => usage().then(() => false, (err: unknown) => (err as { code?: string }).code === 'STORE_UNAVAILABLE'));
      // A call forwarded just before the outage is counted while Redis is down: it waits.
      stores.usage.recordCall('t1', 'plan');
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await server().restart();
    }
    // Reconnected: the reads succeed again, AOF kept the first count, the second one arrives.
    await until(() => usage().then(() => true, () => false));
    expect(await usage()).toEqual({ calls: 2, stage_calls: 2 });
    const other = await openRedisStores({ url: server().url, prefix: `batch${n}:`, maxStalenessMs: 5_000 });
    afterTest(() => other.close());
    await until(async () => (await other.usage.usage('t1', 'plan')).calls === 2);
    const admin = new Redis(server().url);
    try {
      // Loaded on the reconnection, not found missing by a NOSCRIPT reply.
      expect(await admin.info('errorstats')).not.toMatch(/NOSCRIPT/);
    } finally {
      admin.disconnect();
    }
  });
});
