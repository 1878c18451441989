// The console's view of a task's timeline: the decision-log file read back through
// src/audit/timeline.ts. Only the newest `maxBytes` of the file are read (a log grows without
// bound; its rotated files are for `warden audit trace`), and only lines that mention the task
// are parsed.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { buildTimeline } from '../audit/timeline.js';
import type { TimelineView } from './pages/timeline.js';

export type TaskTimelines = (taskId: string) => Promise<TimelineView>;

const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

export interface TaskTimelineOptions {
  /** The decision log: a file path, or stdout/stderr (no timeline then). */
  readonly path: string;
  /** Writes out lines still queued in the process, so the page shows the latest calls. */
  readonly flush: () => void;
  readonly maxBytes?: number;
}

export function taskTimelines(opts: TaskTimelineOptions): TaskTimelines {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  return async (taskId) => {
    if (opts.path === 'stdout' || opts.path === 'stderr') {
      return { entries: [], counts: {}, note: `The decision log goes to ${opts.path}; set decision_log.path to a file for timelines here, or use warden audit trace.` };
    }
    opts.flush();
    let size: number;
    try {
      size = (await stat(opts.path)).size;
    } catch {
      return { entries: [], counts: {}, note: 'The decision log file cannot be read.' };
    }
    const start = Math.max(0, size - maxBytes);
    const lines: string[] = [];
    const input = createReadStream(opts.path, { start, end: Math.max(0, size - 1), encoding: 'utf8' });
    const rl = createInterface({ input, crlfDelay: Infinity });
    let first = start > 0;
    for await (const line of rl) {
      // Reading from the middle of the file: the first line is a fragment.
      if (first) {
        first = false;
        continue;
      }
      if (line.includes(taskId)) lines.push(line);
    }
    const t = buildTimeline(lines, taskId);
    return { entries: t.entries, counts: t.counts, ...(start > 0 && { note: `Only the newest ${Math.round(maxBytes / 1048576)} MiB of the decision log were read; warden audit trace reads it all.` }) };
  };
}
