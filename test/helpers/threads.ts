// This process's threads as the kernel sees them (Linux): a test of a thread's scheduling priority.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { BACKGROUND_NICE, CHRT } from '../../src/service/thread.js';

/** The default policy (field 41 of a thread's stat). */
export const SCHED_OTHER = 0;

/** A thread's nice value and scheduling policy (fields 19 and 41 of /proc/self/task/<tid>/stat). */
export interface ThreadSched {
  readonly nice: number;
  readonly policy: number;
}

/** The nice value and policy of each of this process's threads. */
export function threadScheds(): ThreadSched[] {
  const out: ThreadSched[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // After the command name in parentheses (which may hold spaces), field 3 onwards.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ nice: Number(fields[16]), policy: Number(fields[38]) });
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

/**
 * How many of this process's threads run at the priority runInBackground() gives (service/thread.ts):
 * its nice value, and `policy` when given.
 */
export function backgroundThreads(policy?: number): number {
  const lowered = Math.min(19, getPriority() + BACKGROUND_NICE);
  return threadScheds().filter((t) => t.nice === lowered && (policy === undefined || t.policy === policy)).length;
}

/**
 * Whether util-linux's `chrt` is where runInBackground() looks for it (Debian installs it there):
 * a thread asked to be SCHED_IDLE then must be.
 */
export function chrtInstalled(): boolean {
  return CHRT.some((p) => existsSync(p));
}
