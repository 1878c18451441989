// What every benchmark script starts the same way: its flags, an upstream and a load generator in
// their own processes, a workspace (config, bundle, state), and the clean-up whatever happens.

import { startLoadGenerator } from './load-client.js';
import type { Proc } from './procs.js';
import { startUpstream, type Started } from './systems.js';
import { createWorkspace, type Workspace } from './warden-config.js';

/** A numeric flag `--name N`, `def` when absent. */
export function flag(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} needs a number`);
  return v;
}

/** A string flag `--name VALUE`, undefined when absent. */
export function stringFlag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

export interface Bench {
  /** Every process started for the run; each one pushed here is stopped at the end. */
  readonly procs: Proc[];
  readonly ws: Workspace;
  readonly upstream: Started;
  readonly loadProc: Proc;
}

/** Runs `body` with an upstream, a load generator and a workspace; stops every process in
 *  `procs` and removes the workspace afterwards, also when `body` throws. */
export async function withBench<T>(body: (b: Bench) => Promise<T>): Promise<T> {
  const procs: Proc[] = [];
  const ws = await createWorkspace();
  try {
    const upstream = await startUpstream();
    procs.push(...upstream.procs);
    const loadProc = await startLoadGenerator(procs);
    return await body({ procs, ws, upstream, loadProc });
  } finally {
    await Promise.all(procs.map((p) => p.stop().catch(() => undefined)));
    await ws.remove();
  }
}

/** The script's entry: an error is printed with the script's name and sets exit code 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${name}: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
