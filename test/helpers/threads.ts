// This process's threads as the kernel sees them (Linux): a test of a thread's scheduling priority.

import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { BACKGROUND_NICE } from '../../src/service/thread.js';

/** The nice value of each of this process's threads (field 19 of /proc/self/task/<tid>/stat). */
export function threadNices(): number[] {
  const nices: number[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // After the command name in parentheses (which may hold spaces), field 3 onwards.
      nices.push(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return nices;
}

/** How many of this process's threads run at the priority runInBackground() gives (service/thread.ts). */
export function backgroundThreads(): number {
  const lowered = Math.min(19, getPriority() + BACKGROUND_NICE);
  return threadNices().filter((n) => n === lowered).length;
}
