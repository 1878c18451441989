// `warden run` and `warden control` read and validate their configuration in a worker thread that
// ends once it is done, and resolve its secrets here. Loaded in the serving process, the YAML
// parser, TypeBox and the configuration schema stay in its heap for its whole life though nothing
// uses them after the start (3.4 MB of live heap, 11 MB of idle RSS: bench/HISTORY.md, issue 15,
// fifth session). A bad configuration is refused as before: the same coded error, before
// anything listens.

import { startThread } from '../service/thread.js';
import { deepFreeze } from '../deep-freeze.js';
import { WardenError, type ErrorCode } from '../errors.js';
import type { ConfigOverrides } from './load.js';
import type { LoadAnswer } from './load-thread.js';
import { withSecrets, type LoadedConfig } from './loaded.js';
import type { WardenConfig } from './schema.js';

export async function loadConfigIsolated(file: string, overrides: ConfigOverrides = {}): Promise<LoadedConfig> {
  const worker = startThread(import.meta.url, './load-thread', { file, overrides });
  const answer = await new Promise<LoadAnswer>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the configuration thread ended (${code}) without an answer`)));
  });
  await worker.terminate();
  if (!answer.ok) {
    if (answer.code === undefined) throw new Error(answer.detail);
    throw new WardenError(answer.code as ErrorCode, answer.detail);
  }
  // Structured cloning drops the freeze: the configuration is frozen again, as validate.ts left it.
  return withSecrets(deepFreeze(answer.config as WardenConfig), answer.baseDir);
}
