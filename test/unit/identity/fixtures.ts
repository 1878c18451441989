// Shared by the identity and tasks unit tests: a validated configuration and a throwaway state dir.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WardenConfig } from '../../../src/config/schema.js';
import { validateConfig } from '../../../src/config/validate.js';
import type { SqliteTaskStore } from '../../../src/store/sqlite/task-store.js';
import type { TaskStores } from '../../../src/store/tasks.js';

export function tempDir(onCleanup: (fn: () => void) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-identity-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The defaults of the schema plus `raw` (identity and tasks sections as in YAML), with a webhook. */
export function makeConfig(stateDir: string, raw: Record<string, unknown> = {}): WardenConfig {
  return validateConfig({
    admin: { token: '${env:WARDEN_ADMIN_TOKEN}' },
    step_up: { webhook: { url: 'http://127.0.0.1:9/hook', secret: '${env:WARDEN_WEBHOOK_SECRET}' } },
    state_dir: stateDir,
    ...raw,
  });
}

/** The task domain's stores on one SQLite task store (it implements both). */
export function tasksOf(store: SqliteTaskStore): TaskStores {
  return { tasks: store, usage: store };
}
