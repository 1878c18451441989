// The benchmark's "CPU time by part" tables: the bare undici proxy and Warden, each started anew
// under `node --perf-basic-prof`, recorded by `perf` (perf-profile.ts) in the middle of one GET
// saturation round, their shares turned into µs per request with the CPU the round measured.

import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LoadResult } from './load.js';
import type { LoadRequest } from './load-client.js';
import { PARTS, perfRecord, perfReport, perfUnavailable, type PerfReport } from './perf-profile.js';
import type { Proc } from './procs.js';
import { num, table } from './report.js';
import { BASE_HEADERS, GET_PATH } from './requests.js';
import { startUndiciProxy, startWarden } from './systems.js';
import type { Workspace } from './warden-config.js';

export interface PerfRun {
  readonly upstream: string;
  /** Warden's configuration file and workspace, and the Node options of the benchmark's Wardens. */
  readonly config: string;
  readonly ws: Workspace;
  readonly wardenNodeArgs: readonly string[];
  /** Saturation before the round of a process just started (JIT and heap settle), as the benchmark's systems get. */
  readonly settleMs: number;
  readonly satMs: number;
  /** A closed-loop load (the benchmark's generator and connection count). */
  readonly load: (req: LoadRequest, durationMs: number) => Promise<LoadResult>;
  /** Started processes go here, so that the benchmark stops them whatever happens. */
  readonly procs: Proc[];
  readonly log: (msg: string) => void;
}

interface Measured {
  readonly report: PerfReport;
  readonly cpuUsPerReq: number;
  readonly rps: number;
}

/**
 * Node options of the processes perf records: `--perf-basic-prof` names JIT and wasm code (in
 * /tmp/perf-<pid>.map), and would also leave V8's log of each isolate in the working directory;
 * that log goes to `dir`, which is removed afterwards.
 */
const perfArgs = (dir: string): string[] => ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${path.join(dir, 'v8.log')}`];

/** One saturation round of `req` against `proc`, perf recording its middle; then `proc` is stopped. */
async function measure(run: PerfRun, proc: Proc, req: LoadRequest, dir: string): Promise<Measured> {
  await run.load(req, run.settleMs);
  const out = path.join(dir, `${proc.name}.data`);
  const before = await proc.usage();
  const round = run.load(req, run.satMs);
  // Leave out the round's first and last second (connections opening, the round ending).
  const recordS = Math.max(1, Math.floor(run.satMs / 1000) - 2);
  await new Promise((r) => setTimeout(r, 1000));
  await perfRecord(proc.child.pid!, recordS, out);
  const sat = await round;
  const after = await proc.usage();
  const report = perfReport(out);
  await proc.stop();
  return { report, cpuUsPerReq: (after.cpuUs - before.cpuUs) / Math.max(1, sat.requests), rps: sat.rps };
}

/** The symbol map `--perf-basic-prof` writes, left behind otherwise. */
const removePerfMap = (proc: Proc): void => rmSync(`/tmp/perf-${proc.child.pid}.map`, { force: true });

/** The section, or a line saying why there is none. */
export async function perfSection(run: PerfRun): Promise<string> {
  const heading = '### CPU time by part (perf)\n\n';
  const why = perfUnavailable();
  if (why !== undefined) return `${heading}Not measured: ${why}.\n`;
  run.log('CPU time by part (perf): the bare undici proxy and Warden, one GET saturation round each');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'warden-perf-'));
  const started: Proc[] = [];
  try {
    const u = await startUndiciProxy(run.upstream, perfArgs(dir));
    run.procs.push(...u.procs);
    started.push(...u.procs);
    const undici = await measure(run, u.procs[0]!, { origin: u.origin, path: `/github${GET_PATH}`, method: 'GET', headers: BASE_HEADERS }, dir);
    const w = await startWarden(run.config, run.ws, [...run.wardenNodeArgs, ...perfArgs(dir)]);
    run.procs.push(...w.procs);
    started.push(...w.procs);
    const warden = await measure(run, w.procs[0]!, { origin: w.origin, path: `/github${GET_PATH}`, method: 'GET', headers: { ...BASE_HEADERS, authorization: `Bearer ${w.token}` } }, dir);
    return heading + render(undici, warden);
  } catch (err) {
    return `${heading}Not measured: ${(err as Error).message}\n`;
  } finally {
    await Promise.all(started.map((p) => p.stop()));
    started.forEach(removePerfMap);
    await rm(dir, { recursive: true, force: true });
  }
}

function render(undici: Measured, warden: Measured): string {
  const us = (m: Measured, share: number): string => (share * m.cpuUsPerReq).toFixed(1);
  const parts = PARTS.filter((p) => (undici.report.parts.get(p) ?? 0) + (warden.report.parts.get(p) ?? 0) > 0.001);
  const undiciBySym = new Map(undici.report.symbols.map((s) => [s.sym, s.share]));
  return (
    `\`perf record -e cpu-clock\` of every thread of each process, started anew with \`--perf-basic-prof\` (JIT and wasm code named), in the middle of one GET saturation round each ` +
    `(bare undici ${num(undici.rps)} req/s, Warden ${num(warden.rps)} req/s); the shares are turned into µs with the CPU per request measured over the round. ` +
    `Unlike the V8 profile above, this counts only time on a CPU: a native call in which the process waits for a CPU gets none.\n\n` +
    table(['part', 'bare undici µs/req', 'Warden µs/req'], [
      ...parts.map((p) => [p, us(undici, undici.report.parts.get(p) ?? 0), us(warden, warden.report.parts.get(p) ?? 0)]),
      ['**all**', num(undici.cpuUsPerReq), num(warden.cpuUsPerReq)],
    ]) +
    `\n\nWarden's top symbols by CPU (self), beside the bare proxy's same symbol where it has one (JIT names carry no thread id):\n\n` +
    table(['symbol', 'where', 'Warden µs/req', 'bare undici µs/req'], warden.report.symbols.slice(0, 20).map((s) => {
      const other = undiciBySym.get(s.sym);
      return [`\`${s.sym.replace(/`/g, "'").slice(0, 90).replace(/\|/g, '\\|')}\``, s.dso.startsWith('[JIT]') ? 'JIT' : s.dso, us(warden, s.share), other === undefined ? '—' : us(undici, other)];
    })) +
    '\n'
  );
}
