// Worker threads of Warden's own modules: the configuration loader (config/load-isolated.ts), the
// trace exporter (observability/tracing.ts) and the decision-log shipper (audit/shipping.ts).

import { readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getPriority, setPriority } from 'node:os';
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

/**
 * Ends a thread that answers `{ type: 'closed' }` once it has finished its work: sends it `message`,
 * waits for that answer, its exit or `limitMs` (when given), and terminates it. The thread is
 * ref'd meanwhile, so a process awaiting this is not cut short while the last work goes out.
 */
export async function closeThread(worker: Worker, message: unknown, limitMs?: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onMessage: ((m: { type?: unknown } | null) => void) | undefined;
  // An exited thread (threadId -1) answers nothing and emits no second 'exit'.
  if (worker.threadId !== -1) {
    const done = new Promise<void>((resolve) => {
      onMessage = (m) => m?.type === 'closed' && resolve();
      worker.on('message', onMessage);
      worker.once('exit', () => resolve());
      worker.once('error', () => resolve());
      if (limitMs !== undefined) timer = setTimeout(resolve, limitMs);
    });
    worker.ref();
    worker.postMessage(message);
    await done;
  }
  clearTimeout(timer);
  if (onMessage) worker.off('message', onMessage);
  await worker.terminate();
}

/**
 * How much lower than the process the trace and shipping threads run (nice, Linux): they yield a
 * core to the request path (and to the agent beside Warden) when both want one, and still get a
 * tenth of a core or more against a busy one, several times what they use (2-3 % of a core at 3600
 * requests a second).
 */
export const BACKGROUND_NICE = 10;

/**
 * Lowers the calling thread's scheduling priority by BACKGROUND_NICE (at most to 19); Linux only,
 * where a thread has a nice value of its own (elsewhere, and when refused, the thread keeps the
 * process's). Encoding and exporting a trace, and shipping a decision line, is work that can wait a
 * few milliseconds; at the request path's priority it took the cores the request path needed
 * (bench/HISTORY.md, issue 14, sixteenth session).
 */
export function runInBackground(): void {
  if (process.platform !== 'linux') return;
  try {
    // /proc/thread-self is this thread's /proc/<pid>/task/<tid>: setpriority() on a tid sets that thread alone.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, Math.min(19, getPriority(tid) + BACKGROUND_NICE));
  } catch {
    // No /proc (a sandbox), or a priority the process may not set: the thread keeps the process's.
  }
}
