// `warden store migrate --from sqlite --to redis --config FILE [--state-dir DIR]`: copies the
// state of a single Warden (its SQLite file and task key in state_dir) into the fleet's Redis that
// the configuration names, and prints what it copied. Safe to run again (store/migrate.ts).

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfigFile } from '../config/load.js';
import { WardenError, isWardenError } from '../errors.js';
import { GENERATED_KEY_FILE, TaskTokens } from '../identity/task-tokens.js';
import type { PublishedKey } from '../store/keys.js';
import { formatReport, migrateState } from '../store/migrate.js';
import { openRedisStores } from '../store/redis/open.js';
import { openSqliteStores } from '../store/sqlite/open.js';
import type { CommandOutput } from './audit.js';

export interface MigrateOptions {
  readonly from: string;
  readonly to: string;
  readonly config: string;
  readonly stateDir?: string;
}

const refuse = (detail: string): WardenError => new WardenError('STORE_MIGRATION_REFUSED', detail);

export async function migrateCommand(opts: MigrateOptions): Promise<CommandOutput> {
  if (opts.from !== 'sqlite' || opts.to !== 'redis') throw refuse(`--from ${opts.from} --to ${opts.to}: only --from sqlite --to redis is supported`);
  const loaded = loadConfigFile(opts.config);
  const { config } = loaded;
  if (config.store.kind !== 'redis') throw refuse(`${opts.config}: store.kind is ${config.store.kind}; give the configuration of the fleet (store.kind: redis) as --config`);
  const stateDir = resolve(opts.stateDir ?? resolve(loaded.baseDir, config.state_dir));
  if (!existsSync(join(stateDir, 'warden.db'))) throw refuse(`${stateDir} holds no warden.db; name the SQLite Warden's state_dir with --state-dir`);

  // The former Warden's generated key (never created here): its tokens keep verifying on the
  // fleet until the longest of them has expired.
  let formerKey: PublishedKey | undefined;
  if (existsSync(join(stateDir, GENERATED_KEY_FILE))) {
    const { key_file: _ignored, ...taskTokens } = config.identity.task_tokens;
    const former = await TaskTokens.create({ ...config, state_dir: stateDir, identity: { ...config.identity, task_tokens: taskTokens } });
    const now = Date.now();
    formerKey = { kid: former.kid!, jwk: { ...(await former.publicJwk()) }, use: 'task', published_at: now, retire_at: now + config.identity.task_tokens.max_ttl };
  }

  const from = openSqliteStores(stateDir);
  try {
    const to = await openRedisStores({ url: loaded.storeUrl!, prefix: config.store.prefix, maxStalenessMs: config.store.max_staleness }).catch((err: unknown) => {
      throw isWardenError(err) ? err : new WardenError('STORE_UNAVAILABLE', `cannot reach store.url: ${(err as Error).message}`, { cause: err });
    });
    try {
      const report = await migrateState(from, to, formerKey);
      return { output: `migrated ${stateDir} into Redis (prefix ${config.store.prefix})\n${formatReport(report)}`, exitCode: 0 };
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}
