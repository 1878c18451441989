// Jobs for the load generator process (bench/load.ts): one job, one result over IPC.

import type { LoadJob, LoadResult } from './load.js';
import { readyMessage, spawnNode, type Proc } from './procs.js';

export type LoadRequest = Pick<LoadJob, 'origin' | 'path' | 'method' | 'headers' | 'body'>;

let jobId = 0;

/** The load generator in its own process, ready for jobs; it joins `procs` (stopped by the caller). */
export async function startLoadGenerator(procs: Proc[]): Promise<Proc> {
  const proc = spawnNode('load', 'bench/load.ts', []);
  procs.push(proc);
  await readyMessage(proc);
  return proc;
}

/** Closed loop: `connections` busy connections; open loop: `rate` requests a second on 64. */
export function sendLoad(loadProc: Proc, req: LoadRequest, mode: 'closed' | 'open', durationMs: number, opts: { connections: number; rate: number }): Promise<LoadResult> {
  const id = ++jobId;
  const job: LoadJob = { type: 'job', id, ...req, mode, durationMs, connections: mode === 'closed' ? opts.connections : 64, ...(mode === 'open' && { rate: opts.rate }) };
  return new Promise((res, rej) => {
    const onMsg = (m: unknown): void => {
      const r = m as LoadResult & { failed?: string };
      if (r?.type !== 'result' || r.id !== id) return;
      loadProc.child.off('message', onMsg);
      if (r.failed) rej(new Error(`load generator: ${r.failed}`));
      else res(r);
    };
    loadProc.child.on('message', onMsg);
    loadProc.child.send(job);
  });
}
