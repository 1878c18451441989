// The fleet's key ring on a real redis-server, two members sharing it: a newly published task key
// retires the current one after the grace (the longest token it may have signed), a retiring key
// keeps its first retire_at, assertion keys are never retired by a publish, a key is gone from
// retire_at on, and every member hears a change.

import { describe, expect, it } from 'vitest';
import { openRedisStores } from '../../../../src/store/redis/open.js';
import type { KeyRing, PublishedKey } from '../../../../src/store/keys.js';
import { useRedisServer } from '../../../helpers/redis-server.js';
import { until } from '../../../helpers/wait.js';

const redis = useRedisServer();

let n = 0;
async function members(): Promise<[KeyRing, KeyRing]> {
  const opts = { url: redis.server().url, prefix: `ring${++n}:`, maxStalenessMs: 5_000 };
  const a = await openRedisStores(opts);
  const b = await openRedisStores(opts);
  for (const s of [a, b]) redis.afterTest(() => s.close());
  return [a.keys!, b.keys!];
}

const HOUR = 3_600_000;
const key = (kid: string, published_at: number, over: Partial<PublishedKey> = {}): PublishedKey => ({ kid, jwk: { kty: 'OKP', crv: 'Ed25519', x: `x-${kid}`, kid }, published_at, ...over });
const kids = async (ring: KeyRing, now: number) => (await ring.list(now)).map((k) => `${k.kid}${k.retire_at === undefined ? '' : `@${k.retire_at}`}`).sort();

describe('RedisKeyRing', () => {
  it('a new task key retires the current one after the grace; a retiring key keeps its first retire_at', async () => {
    const [control, sidecar] = await members();
    await control.publish(key('k1', 1_000), 8 * HOUR);
    expect(await kids(sidecar, 1_000)).toEqual(['k1']);
    await control.publish(key('k2', 2_000), 8 * HOUR);
    expect(await kids(sidecar, 2_000)).toEqual([`k1@${2_000 + 8 * HOUR}`, 'k2']);
    await control.publish(key('k3', 3_000), 8 * HOUR);
    expect(await kids(sidecar, 3_000)).toEqual([`k1@${2_000 + 8 * HOUR}`, `k2@${3_000 + 8 * HOUR}`, 'k3']);
    // Publishing the current key again retires nothing.
    await control.publish(key('k3', 4_000), 8 * HOUR);
    expect(await kids(sidecar, 4_000)).toEqual([`k1@${2_000 + 8 * HOUR}`, `k2@${3_000 + 8 * HOUR}`, 'k3']);
  });

  it('a key verifies nothing from retire_at on, and is then dropped from the ring', async () => {
    const [control, sidecar] = await members();
    await control.publish(key('old', 0), HOUR);
    await control.publish(key('new', 1_000), HOUR);
    expect(await kids(sidecar, 1_000 + HOUR - 1)).toEqual(['new', `old@${1_000 + HOUR}`]);
    expect(await kids(sidecar, 1_000 + HOUR)).toEqual(['new']);
    // Dropped for good: an earlier clock (another member's) does not bring it back.
    await until(async () => (await kids(control, 0)).length === 1);
    expect(await kids(control, 0)).toEqual(['new']);
  });

  it('announced assertion keys are kept as they are and never retired by a task key\'s publish', async () => {
    const [control, sidecar] = await members();
    await sidecar.announce(key('assert-1', 1_000, { use: 'assertion', retire_at: 1_000 + HOUR }));
    await control.publish(key('task-1', 2_000), 8 * HOUR);
    await control.publish(key('task-2', 3_000), 8 * HOUR);
    expect((await control.list(3_000)).find((k) => k.kid === 'assert-1')).toEqual(key('assert-1', 1_000, { use: 'assertion', retire_at: 1_000 + HOUR }));
    // Announced again before it ends: its life is extended.
    await sidecar.announce(key('assert-1', 2_000, { use: 'assertion', retire_at: 2_000 + HOUR }));
    expect(await kids(control, 1_000 + HOUR)).toEqual([`assert-1@${2_000 + HOUR}`, `task-1@${3_000 + 8 * HOUR}`, 'task-2']);
  });

  it('every member hears a publish or an announce of another', async () => {
    const [control, sidecar] = await members();
    let heard = 0;
    sidecar.onChange(() => void heard++);
    await control.publish(key('k1', 1_000), HOUR);
    await until(() => heard === 1);
    await control.announce(key('a1', 1_000, { use: 'assertion', retire_at: 2_000 }));
    await until(() => heard === 2);
  });
});
