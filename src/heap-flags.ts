// The V8 options of the long-running commands (`warden run`, `warden control`). Node takes V8
// options on its own command line only (NODE_OPTIONS refuses these), so every way the project
// starts Warden passes them: the `warden` bin's shebang (src/main.ts), the fleet example's
// Dockerfile, `npm start` and the benchmark (test/unit/heap-flags.test.ts holds them to this
// list). A start without them (`node dist/src/main.js run`) gets the ones V8 can take once running
// from applyHeapFlags().
//
// --no-allocation-site-pretenuring: V8 counts, at each young collection, how many of an allocation
// site's objects survived, and past a threshold allocates that site's objects straight in the old
// generation. A sidecar's objects live for one request. A scavenge that lands while requests wait
// (a stall on a loaded host is enough) can make their sites look long-lived: an MCP tools/call then
// put 7.7–8.5 KB a request into the old generation (a sampling heap profile keeping what only major
// GCs collect) against 0.5–1.3 KB without it; the old space grew to 47–58 MB against 24–31, GC took
// 4–5 times as long and a call 15–35 % more CPU (bench/HISTORY.md, tenth session). Set at run time,
// V8 honours it only in part (3.2–6.1 KB a call kept).
//
// --single-threaded-gc: a sidecar shares its pod's few cores with the agent and the upstreams, and
// its heap is small (tens of MB): V8's helper threads for scavenges and marking then cost more in
// handing work over than they save. A GET cost 6–12 % less CPU in paired rounds (medians of three
// runs: 0.94, 0.94, 0.88), at the same p99 at 500 req/s. GC threads are set up when V8 starts, so
// this one is never set at run time.

import { setFlagsFromString } from 'node:v8';

export const HEAP_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring', '--single-threaded-gc'];
/** Those of HEAP_FLAGS that V8 takes once running. */
const AT_RUN_TIME: readonly string[] = ['--no-allocation-site-pretenuring'];

/** The flag's name without `--` and `no-`, with `_` as `-` (V8 takes both spellings). */
const flagName = (arg: string): string => arg.replace(/=.*$/, '').replace(/^--(no-?)?/, '').replaceAll('_', '-');

/**
 * Sets each of HEAP_FLAGS that V8 takes once running and that the process's own command line does
 * not set either way (an operator's `--allocation-site-pretenuring` stands).
 */
export function applyHeapFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const given = new Set(execArgv.filter((a) => a.startsWith('--')).map(flagName));
  const applied = AT_RUN_TIME.filter((f) => !given.has(flagName(f)));
  for (const f of applied) setFlagsFromString(f);
  return applied;
}
