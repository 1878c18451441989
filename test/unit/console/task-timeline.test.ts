// The console's timeline of a task read back from the decision-log file: the whole file when it
// is small, only its newest `maxBytes` otherwise (the cut first line skipped, a note saying so),
// the queued lines flushed first, and a note instead of entries when there is no file to read.

import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { taskTimelines } from '../../../src/console/task-timeline.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function logFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'console-timeline-'));
  dirs.push(dir);
  return join(dir, 'decisions.log');
}

const decision = (task: string, i: number): string =>
  `${JSON.stringify({ type: 'decision', task, decision_id: `d-${task}-${i}`, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), outcome: 'allow', status: 200, input: { request: { method: 'GET', upstream: 'gh', path: `/r/${i}` } } })}\n`;

describe('taskTimelines', () => {
  it('reads the task\'s lines from the whole file, flushing queued lines first', async () => {
    const path = logFile();
    writeFileSync(path, decision('t1', 1) + decision('t2', 2));
    const read = taskTimelines({ path, flush: () => appendFileSync(path, decision('t1', 3)) });
    const v = await read('t1');
    expect(v.entries.map((e) => (e.kind === 'call' ? e.decision_id : e.kind))).toEqual(['d-t1-1', 'd-t1-3']);
    expect(v.counts).toEqual({ allow: 2 });
    expect(v.note).toBeUndefined();
  });

  it('past maxBytes reads only the newest part, skips the line cut in two, and says so', async () => {
    const path = logFile();
    const lines = Array.from({ length: 40 }, (_, i) => decision('t1', i));
    writeFileSync(path, lines.join(''));
    const tail = lines.slice(-10).join('');
    // A window that starts 20 bytes into line 29 (from its end): that fragment is dropped, 30..39 are read.
    const v = await taskTimelines({ path, flush: () => undefined, maxBytes: tail.length + 20 })('t1');
    expect(v.entries.map((e) => (e.kind === 'call' ? e.decision_id : ''))).toEqual(Array.from({ length: 10 }, (_, i) => `d-t1-${30 + i}`));
    expect(v.note).toBe('Only the newest 0 MiB of the decision log were read; warden audit trace reads it all.');
  });

  it('a window starting exactly at a line boundary still skips its first line (it cannot know)', async () => {
    const path = logFile();
    const lines = Array.from({ length: 5 }, (_, i) => decision('t1', i));
    writeFileSync(path, lines.join(''));
    const v = await taskTimelines({ path, flush: () => undefined, maxBytes: lines.slice(-2).join('').length })('t1');
    expect(v.entries.map((e) => (e.kind === 'call' ? e.decision_id : ''))).toEqual(['d-t1-4']);
  });

  it('answers with a note and no entries for a log on stdout or a file that cannot be read', async () => {
    expect(await taskTimelines({ path: 'stdout', flush: () => undefined })('t1')).toEqual({
      entries: [],
      counts: {},
      note: 'The decision log goes to stdout; set decision_log.path to a file for timelines here, or use warden audit trace.',
    });
    expect(await taskTimelines({ path: join(tmpdir(), 'no-such-dir-for-warden', 'd.log'), flush: () => undefined })('t1')).toEqual({ entries: [], counts: {}, note: 'The decision log file cannot be read.' });
  });
});
