// The Redis tool-pin store against a real redis-server: two processes' stores share one pin.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisStores } from '../../../../src/store/redis/open.js';
import type { Stores } from '../../../../src/store/stores.js';
import { useRedisServer } from '../../../helpers/redis-server.js';

const redis = useRedisServer();
let a: Stores;
let b: Stores;

beforeAll(async () => {
  const opts = { url: redis.server().url, prefix: 'pins:', maxStalenessMs: 1000 };
  a = await openRedisStores(opts);
  b = await openRedisStores(opts);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
});

describe('RedisToolPinStore', () => {
  it('the first definition seen anywhere is the pin; a drift is seen by every member until re-pinned', async () => {
    const [x, y] = await Promise.all([a.toolPins.observe('tools', 'search', 'sha256:aaa', 1000), b.toolPins.observe('tools', 'search', 'sha256:bbb', 1000)]);
    // Two members racing on a first listing agree on one pin.
    expect(x.pin).toBe(y.pin);
    const pin = x.pin;
    const drift = await a.toolPins.observe('tools', 'search', 'sha256:ccc', 2000);
    expect(drift).toMatchObject({ pin, seen: 'sha256:ccc', seen_at: 2000, first_seen_at: 1000 });
    expect(await b.toolPins.get('tools', 'search')).toMatchObject({ pin, seen: 'sha256:ccc' });
    expect(await b.toolPins.pin('tools', 'search', 3000)).toMatchObject({ pin: 'sha256:ccc', pinned_at: 3000 });
    expect((await a.toolPins.get('tools', 'search'))!.pin).toBe('sha256:ccc');
    expect(await a.toolPins.pin('tools', 'never-seen', 3000)).toBeUndefined();
    expect((await b.toolPins.list()).map((r) => `${r.upstream}/${r.tool}`)).toEqual(['tools/search']);
  });
});
