// Worker threads of Warden's own modules: the configuration loader (config/load-isolated.ts), the
// trace exporter (observability/tracing.ts) and the decision-log shipper (audit/shipping.ts).

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts the module `entry` (a path relative to the module `from`, without its extension) in a
 * worker thread. Run from the TypeScript sources (tests, development), the thread registers tsx
 * itself first: Node 20 gives a worker none of the process's loader hooks.
 */
export function startThread(from: string, entry: string, workerData: unknown): Worker {
  if (!from.endsWith('.ts')) return new Worker(new URL(`${entry}.js`, from), { workerData });
  const tsx = pathToFileURL(join(dirname(createRequire(from).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const module = new URL(`${entry}.ts`, from).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(module)}); })`, { eval: true, workerData });
}
