// `npm run bench:ops`: what decision-log shipping and tracing cost (issue 14; target ≤ 5 % of
// throughput each). Three Wardens on the same policy and upstream — plain, with
// `decision_log.service` (a collector in this process) and with `tracing` (an OTLP receiver in
// this process, every request carrying a sampled traceparent, so every request is exported) —
// run saturation rounds of the GET in rotated order; reported are the medians of req/s and of
// Warden's CPU µs per request (CPU per request holds up on a loaded machine, where req/s is noisy).
// Flags: --reps N (5)  --sat MS (4000)  --connections N (32)
//        --rate N (rounds at a fixed N req/s instead of saturation: on a loaded machine CPU per
//        request falls as throughput rises, so comparing it at one rate is fairer)
//        --together (each round loads the three Wardens at the same time, each with its own
//        connections: whatever else the machine runs then weighs on all three alike, which makes
//        the comparison of CPU per request usable on a loaded machine)
//        --base DIR (also the shipping and tracing Wardens of another compiled checkout, e.g. main
//        before a change, in the same rounds: a before/after that the machine's load hits alike)
//        --profile [plain|shipping] (instead: `node --cpu-prof` on the tracing (or that) Warden during one round, top self time
//        and inclusive time of the tracing code, printed)

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { flag, runMain, withBench } from './harness.js';
import { sendLoad } from './load-client.js';
import type { LoadResult } from './load.js';
import { ROOT } from './procs.js';
import { inclusiveTime, topSelfTime } from './profile.js';
import { median } from './stats.js';
import { opsConfig, sampledTraceparent, startSink, type OpsKind, type Sink } from './ops-variants.js';
import { table } from './report.js';
import { startWarden, type StartedWarden } from './systems.js';

const REPS = flag('--reps', 5);
const SAT_MS = flag('--sat', 4000);
const CONNECTIONS = flag('--connections', 32);
const RATE = flag('--rate', 0);
const PROFILE = process.argv.includes('--profile');
/** `--profile shipping` or `--profile plain` profiles that Warden instead of the tracing one. */
const PROFILED = ((v) => (v === 'plain' || v === 'shipping' ? v : 'tracing'))(process.argv[process.argv.indexOf('--profile') + 1]);
const TOGETHER = process.argv.includes('--together');
const BASE = ((i) => (i >= 0 ? path.resolve(process.argv[i + 1] ?? '.') : undefined))(process.argv.indexOf('--base'));

const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
const log = (m: string): void => void process.stderr.write(`[bench:ops ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

async function main(): Promise<void> {
  const collector = await startSink();
  const otlp = await startSink();
  try {
    await withBench(async ({ procs, ws, upstream, loadProc }) => {
      const variants: { label: string; kind?: OpsKind; sink?: Sink; root?: string }[] = [
        { label: 'plain' },
        { label: 'decision-log shipping', kind: 'shipping', sink: collector },
        { label: 'tracing (every request)', kind: 'tracing', sink: otlp },
        ...(BASE ? [{ label: 'shipping, --base', kind: 'shipping' as const, sink: collector, root: BASE }, { label: 'tracing, --base', kind: 'tracing' as const, sink: otlp, root: BASE }] : []),
      ];
      const systems: { label: string; w: StartedWarden; rps: number[]; cpu: number[] }[] = [];
      const profDir = PROFILE ? await mkdtemp(path.join(os.tmpdir(), 'warden-ops-prof-')) : '';
      for (const [i, v] of (PROFILE ? variants.slice(['plain', 'shipping', 'tracing'].indexOf(PROFILED)).slice(0, 1) : variants).entries()) {
        const plain = await ws.configFor(upstream.origin, `ops-${i}`);
        const file = v.kind ? await opsConfig(plain, path.join(ws.dir, `ops-${i}.yaml`), v.kind, v.sink!.url) : plain;
        const w = await startWarden(file, ws, PROFILE ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [], v.root);
        procs.push(...w.procs);
        systems.push({ label: v.label, w, rps: [], cpu: [] });
      }
      const load = (s: (typeof systems)[number], durationMs: number): Promise<LoadResult> => sendLoad(loadProc, {
        origin: s.w.origin, path: '/github/repos/acme/app/issues', method: 'GET',
        headers: { authorization: `Bearer ${s.w.token}`, accept: 'application/vnd.github+json', traceparent: sampledTraceparent() },
      }, RATE > 0 ? 'open' : 'closed', durationMs, { connections: CONNECTIONS, rate: RATE });
      if (PROFILE) {
        const s = systems[0]!;
        await load(s, 1000);
        const fromUs = Number(process.hrtime.bigint() / 1000n);
        const r = await load(s, SAT_MS);
        const win = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
        await s.w.procs[0]!.stop();
        const file = path.join(profDir, (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'))!);
        const { top, busyMs } = topSelfTime(file, ROOT, 25, win);
        const incl = inclusiveTime(file, ROOT, (where) => where.includes('opentelemetry') || where.includes('observability') || where.includes('audit/') || where.includes('zlib'), 25, win);
        const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
        process.stdout.write(`${r.rps.toFixed(0)} req/s under the profiler, busy ${(busyMs / 1000).toFixed(1)} s\n\nself time:\n${table(['function', 'where', 'share of busy'], top.map((t) => [t.fn, t.where || '(native)', pct(t.share)]))}\n\ninclusive, tracing and decision-log code:\n${table(['function', 'where', 'share of busy'], incl.top.map((t) => [t.fn, t.where, pct(t.share)]))}\n\nnative, by caller:\n${table(['native', 'called from', 'share of busy'], incl.nativeCallers.map((c) => [c.native, c.caller, pct(c.share)]))}\n`);
        await rm(profDir, { recursive: true, force: true });
        return;
      }
      const measure = (s: (typeof systems)[number], r: LoadResult, cpuUs: number): void => {
        const cpu = cpuUs / Math.max(1, r.requests);
        if (r.non2xx + r.errors > 0) throw new Error(`${s.label}: ${r.non2xx + r.errors} failed requests ${JSON.stringify(r.statuses)}`);
        s.rps.push(r.rps);
        s.cpu.push(cpu);
        log(`${s.label.padEnd(26)} ${r.rps.toFixed(0).padStart(6)} req/s  cpu ${cpu.toFixed(1)} µs/req`);
      };
      for (let rep = 0; rep < REPS && TOGETHER; rep++) {
        await Promise.all(systems.map((s) => load(s, 500)));
        const before = await Promise.all(systems.map((s) => s.w.procs[0]!.usage(true)));
        const results = await Promise.all(systems.map((s) => load(s, SAT_MS)));
        const after = await Promise.all(systems.map((s) => s.w.procs[0]!.usage()));
        for (const [k, s] of systems.entries()) measure(s, results[k]!, after[k]!.cpuUs - before[k]!.cpuUs);
      }
      for (let rep = 0; rep < REPS && !TOGETHER; rep++) {
        for (let k = 0; k < systems.length; k++) {
          const s = systems[(rep + k) % systems.length]!;
          await load(s, 500);
          const before = await s.w.procs[0]!.usage(true);
          const r = await load(s, SAT_MS);
          const after = await s.w.procs[0]!.usage();
          measure(s, r, after.cpuUs - before.cpuUs);
        }
      }
      const plain = systems[0]!;
      const rows = systems.map((s) => {
        const rps = median(s.rps);
        const cpu = median(s.cpu);
        const dr = s === plain ? '' : `${signed(((rps - median(plain.rps)) / median(plain.rps)) * 100)} %`;
        const dc = s === plain ? '' : `${signed(((cpu - median(plain.cpu)) / median(plain.cpu)) * 100)} %`;
        // Paired: each round against the plain round of the same repetition (seconds apart, so
        // under much the same load of other processes), then the median of those differences.
        const paired = s === plain ? '' : `${signed(median(s.cpu.map((c, i) => c - plain.cpu[i]!)))} µs`;
        return [s.label, rps.toFixed(0), dr, cpu.toFixed(1), dc, paired];
      });
      process.stdout.write(`${table(['Warden', 'req/s (median)', 'vs plain', 'CPU µs/req (median)', 'vs plain', 'CPU vs plain, paired'], rows)}\n`);
      // A shipper that drops (buffer full) does less work than one that ships: the drops are shown.
      const counter = async (s: (typeof systems)[number], name: string): Promise<number> => {
        const text = await (await fetch(`${s.w.admin}/metrics`)).text();
        return Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? 0);
      };
      for (const s of systems.filter((x) => x.label.includes('shipping'))) {
        log(`${s.label}: ${await counter(s, 'warden_decision_log_shipped_total')} decisions shipped, ${await counter(s, 'warden_decision_log_dropped_total')} dropped (buffer full)`);
      }
      process.stdout.write(`\n${REPS} ${TOGETHER ? 'simultaneous' : 'rotated'} rounds of ${SAT_MS / 1000} s, ${RATE > 0 ? `${RATE} req/s` : `${CONNECTIONS} connections`}${TOGETHER ? ' each' : ''}, load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}; collector got ${collector.posts()} uploads, OTLP receiver ${otlp.posts()} exports.\n`);
    });
  } finally {
    await collector.close();
    await otlp.close();
  }
}

runMain('bench:ops', main);
