// closeThread(): the close handshake of the trace and shipping threads, on real worker threads.

import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { closeThread } from '../../../src/service/thread.js';

/** A thread that, told `close`, works `workMs` and answers `closed` (or never answers when `workMs` < 0). */
function thread(workMs: number): { worker: Worker; exited: Promise<number> } {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', (m) => {
       if (m.type !== 'close' || ${workMs} < 0) return;
       setTimeout(() => parentPort.postMessage({ type: 'closed', at: Date.now() }), ${Math.max(0, workMs)});
     });`,
    { eval: true },
  );
  worker.unref();
  return { worker, exited: new Promise((r) => worker.once('exit', r)) };
}

describe('closeThread', () => {
  it('waits for the thread to answer closed, then ends it', async () => {
    const { worker, exited } = thread(300);
    let answeredAt = 0;
    worker.on('message', (m: { at: number }) => (answeredAt = m.at));
    await closeThread(worker, { type: 'close' });
    expect(answeredAt).toBeGreaterThan(0);
    await exited;
    expect(worker.threadId).toBe(-1);
  });

  it('gives up on a silent thread after its limit, and ends it', async () => {
    const { worker, exited } = thread(-1);
    const t0 = Date.now();
    await closeThread(worker, { type: 'close' }, 200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    await exited;
  });

  it('returns at once for a thread that has already exited, even with no limit', async () => {
    const { worker, exited } = thread(0);
    await worker.terminate();
    await exited;
    const t0 = Date.now();
    await closeThread(worker, { type: 'close' });
    expect(Date.now() - t0).toBeLessThan(1000);
  }, 5000);
});
