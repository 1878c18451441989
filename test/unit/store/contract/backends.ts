// The two store adapters side by side, for the contract tests in this folder: SQLite in a temp dir
// and a real redis-server. A new backend is one more entry here, and then runs every contract.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { openRedisStores } from '../../../../src/store/redis/open.js';
import { openSqliteStores } from '../../../../src/store/sqlite/open.js';
import type { Stores } from '../../../../src/store/stores.js';
import { startRedis, type TestRedis } from '../../../helpers/redis-server.js';

export interface Backend {
  readonly stores: Stores;
  /** The same state opened again: a restart, or another process of the fleet. */
  reopen(): Promise<Stores>;
}

/** Registers the hooks (a redis-server for the file, cleanup after each test); returns the openers by name. */
export function useBackends(): Record<string, () => Promise<Backend>> {
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

  return {
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
}
