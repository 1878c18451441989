// Worker threads of Warden's own modules: the configuration loader (config/load-isolated.ts), the
// trace exporter (observability/tracing.ts) and the decision-log shipper (audit/shipping.ts).

import { spawn, spawnSync } from 'node:child_process';
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

/** util-linux's `chrt`, where Debian and most distributions install it (not looked up in PATH). */
export const CHRT: readonly string[] = ['/usr/bin/chrt', '/bin/chrt'];
/** SCHED_IDLE, the policy number /proc/<pid>/task/<tid>/stat shows in field 41. */
export const SCHED_IDLE = 5;

/** A thread runInBackground() lowered: its id, and the `chrt` that gave it SCHED_IDLE (when one did). */
export interface Background {
  readonly tid: number;
  readonly chrt?: string;
}

/**
 * Lowers the calling thread's scheduling priority by BACKGROUND_NICE (at most to 19); Linux only,
 * where a thread has a nice value of its own (elsewhere, and when refused, the thread keeps the
 * process's and this returns undefined). Encoding and exporting a trace, and shipping a decision
 * line, is work that can wait a few milliseconds; at the request path's priority it took the cores
 * the request path needed (bench/HISTORY.md, issue 14, sixteenth session).
 *
 * `idle`: the thread also takes the SCHED_IDLE policy (through `chrt`, which Node cannot do
 * itself; where it is missing or refused, the nice value above stays). It then runs only on a core
 * nothing else wants, and the kernel counts a core that runs nothing but such work as idle when it
 * places a woken thread. At nice 10 the trace thread's work still sent the agent's and the
 * upstream's threads onto the request path's core, which waited 3.7 µs a request longer for it on
 * average, against 1.1 at SCHED_IDLE (bench/HISTORY.md, issue 14, seventeenth session). Such a
 * thread gets next to nothing while every core is busy: only for work that may then be dropped
 * (traces), or whose thread is given SCHED_OTHER back when it falls behind (leaveIdle; shipping).
 */
export function runInBackground(opts: { readonly idle?: boolean } = {}): Background | undefined {
  if (process.platform !== 'linux') return undefined;
  let tid: number;
  try {
    // /proc/thread-self is this thread's /proc/<pid>/task/<tid>: setpriority() on a tid sets that thread alone.
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, Math.min(19, getPriority(tid) + BACKGROUND_NICE));
  } catch {
    // No /proc (a sandbox), or a priority the process may not set: the thread keeps the process's.
    return undefined;
  }
  if (!opts.idle) return { tid };
  const chrt = enterIdle(tid, CHRT);
  return chrt === undefined ? { tid } : { tid, chrt };
}

/** chrt's arguments giving the thread `tid` SCHED_IDLE, or SCHED_OTHER back (its nice value stays). */
const policyArgs = (tid: number, idle: boolean): string[] => [idle ? '--idle' : '--other', '--pid', '0', String(tid)];

/**
 * Gives the thread `tid` SCHED_IDLE, waiting for `chrt` (the first of `chrts` that runs): the one
 * that did, or undefined. sched_setscheduler() on a tid sets that thread alone; a missing chrt is an
 * ENOENT here.
 */
export function enterIdle(tid: number, chrts: readonly string[]): string | undefined {
  return chrts.find((chrt) => spawnSync(chrt, policyArgs(tid, true), { stdio: 'ignore', timeout: 5000 }).status === 0);
}

/**
 * Gives a SCHED_IDLE thread SCHED_OTHER back, at its nice value, without waiting for `chrt`: called
 * by the request path's thread, for which starting it (a fork) costs about 2 ms.
 */
export function leaveIdle(thread: Required<Background>): void {
  const child = spawn(thread.chrt, policyArgs(thread.tid, false), { stdio: 'ignore' });
  // The thread then stays at SCHED_IDLE; nothing else depends on it.
  child.on('error', () => undefined);
  child.unref();
}
