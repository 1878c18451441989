// The V8 options of the long-running commands (`warden run`, `warden control`). Node takes V8
// options on its own command line only (NODE_OPTIONS refuses these), so every way the project
// starts Warden passes them: the `warden` bin's shebang (src/main.ts), the fleet example's
// Dockerfile, `npm start` and the benchmark (test/unit/heap-flags.test.ts holds them to this
// list). A start without them (`node dist/src/main.js run`) gets them from applyHeapFlags(), which
// V8 honours only in part once it runs (an MCP call kept 3.2–6.1 KB in the old generation
// instead of 0.5 KB).
//
// --no-allocation-site-pretenuring: V8 counts, at each young collection, how many of an allocation
// site's objects survived, and past a threshold allocates that site's objects straight in the old
// generation. A sidecar's objects live for one request, but a scavenge that lands while requests
// wait (a stall on a loaded host is enough) can make their sites look long-lived. An MCP tools/call
// then put 7.7–8.5 KB a request into the old generation (a sampling heap profile keeping what only
// major GCs collect) against 0.5–1.3 KB without it: the old space grew to 47–58 MB against 24–31,
// GC took 4–5 times as long and a call 15–35 % more CPU (bench/HISTORY.md, tenth session).

import { setFlagsFromString } from 'node:v8';

export const HEAP_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/** The flag's name without `--` and `no-`, with `_` as `-` (V8 takes both spellings). */
const flagName = (arg: string): string => arg.replace(/=.*$/, '').replace(/^--(no-?)?/, '').replaceAll('_', '-');

/**
 * Sets each of HEAP_FLAGS that the process's own command line does not set either way (an
 * operator's `--allocation-site-pretenuring` stands).
 */
export function applyHeapFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const given = new Set(execArgv.filter((a) => a.startsWith('--')).map(flagName));
  const applied = HEAP_FLAGS.filter((f) => !given.has(flagName(f)));
  for (const f of applied) setFlagsFromString(f);
  return applied;
}
