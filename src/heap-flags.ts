// The V8 options of the long-running commands (`warden run`, `warden control`). Node takes V8
// options on its own command line only (NODE_OPTIONS refuses these), so every way the project
// starts Warden passes them: the `warden` bin's shebang (src/main.ts), the fleet example's
// Dockerfile, `npm start` and the benchmark (test/unit/heap-flags.test.ts holds them to this
// list). A start without them (`node dist/src/main.js run`) gets the first from applyHeapFlags(),
// which V8 honours only in part once it runs (an MCP call kept 3.2–6.1 KB in the old generation
// instead of 0.5 KB), and a warning that names the other two, which V8 reads only at start.
//
// --no-allocation-site-pretenuring: V8 counts, at each young collection, how many of an allocation
// site's objects survived, and past a threshold allocates that site's objects straight in the old
// generation. A sidecar's objects live for one request, but a scavenge that lands while requests
// wait (a stall on a loaded host is enough) can make their sites look long-lived. An MCP tools/call
// then put 7.7–8.5 KB a request into the old generation (a sampling heap profile keeping what only
// major GCs collect) against 0.5–1.3 KB without it: the old space grew to 47–58 MB against 24–31,
// GC took 4–5 times as long and a call 15–35 % more CPU (bench/HISTORY.md, tenth session).
//
// --no-memory-reducer: V8's memory reducer runs full collections some seconds after the allocation
// rate drops, that is while a sidecar idles between bursts, when no short-lived object of a request
// is alive. Every Warden that had idled 10 s before its load then spent about 6 µs a GET in V8's
// runtime defining the properties of Node's `process.nextTick` queue entries (perf:
// Runtime_DefineKeyedOwnPropertyInLiteral, MigrateToMap; 6 of 6 processes), and none that had
// not idled or ran with this option (0 of 6). Paired against the same Warden with the reducer, with
// idle gaps between rounds: CPU a request −7 to −15 % (medians, GET and MCP), the same peak RSS, and
// the same RSS after 40 s idle (114 MB both: the reducer gave nothing back to the system here).
// (bench/HISTORY.md, twelfth session.) V8 reads this one only at start: set later, it does nothing
// (the slow path stayed, 3 of 3), so a start without it is warned about.
//
// --max-semi-space-size=8: half of V8's default (16 MB) for each of the young generation's two
// halves, which a sidecar under load fills and keeps resident. Paired against the same Warden
// without it: peak RSS 108.4 against 123.6 MB (GET) and 111.2 against 123.3 MB (MCP), for about
// 6 % more CPU a GET (each of 6 rounds 1–8 % more; MCP showed no cost against the noise): what
// puts the peak within the 15 MB of the bare undici proxy. 4 MB saved about 5 MB more
// for 6–16 % more CPU (eleventh session). Start-only as well (the young generation keeps its size).

import { setFlagsFromString } from 'node:v8';

export const HEAP_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring', '--no-memory-reducer', '--max-semi-space-size=8'];

/** The flag's name without `--` and `no-`, with `_` as `-` (V8 takes both spellings). */
const flagName = (arg: string): string => arg.replace(/=.*$/, '').replace(/^--(no-?)?/, '').replaceAll('_', '-');

/** Options V8 reads only as the heap is set up: set later (setFlagsFromString), they do nothing. */
const START_ONLY: ReadonlySet<string> = new Set(['memory-reducer', 'max-semi-space-size']);

export interface HeapFlagsApplied {
  /** Set now, at run time. */
  readonly applied: string[];
  /** Missing from the command line and not settable now: the caller warns. */
  readonly missing: string[];
}

/**
 * Sets each of HEAP_FLAGS that the process's own command line does not set either way (an
 * operator's `--allocation-site-pretenuring` stands) and that V8 still takes at run time; the
 * others are reported as missing.
 */
export function applyHeapFlags(execArgv: readonly string[] = process.execArgv): HeapFlagsApplied {
  const given = new Set(execArgv.filter((a) => a.startsWith('--')).map(flagName));
  const absent = HEAP_FLAGS.filter((f) => !given.has(flagName(f)));
  const applied = absent.filter((f) => !START_ONLY.has(flagName(f)));
  for (const f of applied) setFlagsFromString(f);
  return { applied, missing: absent.filter((f) => START_ONLY.has(flagName(f))) };
}
