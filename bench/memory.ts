// `npm run bench:memory`: peak RSS of Warden against the bare undici proxy (issue 15 target: within
// 15 MB), without the rest of `npm run bench`. Both run compiled, as in `npm run bench`, with the
// usage preload; each gets the same saturation rounds (GET, POST 1 KB JSON, MCP tools/call) in
// rotated order, RSS sampled every 100 ms, CPU µs per request. At the end, where each one's memory
// is: V8 heap, external (Buffers, wasm memory), and the rest (code, V8 and native allocations).
// Flags: --reps N (2)  --sat MS (4000)  --connections N (32)
//        --variant "NODE ARGS" (repeatable: one more Warden run with these Node options, e.g.
//        --variant "--max-semi-space-size=4")
//        --soak SECONDS (0: none): then the first Warden alone at saturation (GET), RSS each second,
//        mean of the first and of the last min(60 s, a third) compared (the 10-minute check: --soak 600)

import { table } from './report.js';
import { median } from './stats.js';
import { flag, runMain, withBench } from './harness.js';
import { sendLoad, type LoadRequest } from './load-client.js';
import type { Proc, Usage } from './procs.js';
import { BASE_HEADERS, GET_PATH, MCP_BODY, MCP_HEADERS, POST_BODY, POST_HEADERS } from './requests.js';
import { startUndiciProxy, startWarden, type Started } from './systems.js';

const REPS = flag('--reps', 2);
const SAT_MS = flag('--sat', 4000);
const CONNECTIONS = flag('--connections', 32);
const VARIANTS = process.argv.flatMap((a, i) => (a === '--variant' ? [process.argv[i + 1] ?? ''] : []));
const SOAK_S = flag('--soak', 0);
const MB = 2 ** 20;

const log = (m: string): void => void process.stderr.write(`[bench:memory ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

interface System {
  label: string;
  started: Started;
  requests: LoadRequest[];
  idle?: Usage;
  peak: number;
  cpu: number[];
  end?: Usage;
}

/** RSS of one Warden over a long saturation run: flat, or growing? */
async function soak(loadProc: Proc, w: System): Promise<void> {
  log(`soak: ${w.label} at saturation for ${SOAK_S} s`);
  const samples: Array<{ t: number; rss: number; heap: number }> = [];
  const start = Date.now();
  let done = false;
  const job = sendLoad(loadProc, w.requests[0]!, 'closed', SOAK_S * 1000, { connections: CONNECTIONS, rate: 0 }).finally(() => {
    done = true;
  });
  while (!done) {
    const u = await w.started.procs[0]!.usage();
    samples.push({ t: (Date.now() - start) / 1000, rss: u.rss / MB, heap: (u.heapUsed ?? 0) / MB });
    await new Promise((r) => setTimeout(r, 1000));
  }
  const res = await job;
  const win = Math.min(60, SOAK_S / 3);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const first = samples.filter((x) => x.t < win);
  const last = samples.filter((x) => x.t >= SOAK_S - win);
  const growth = mean(last.map((x) => x.rss)) - mean(first.map((x) => x.rss));
  process.stdout.write(`soak ${SOAK_S} s (${res.rps.toFixed(0)} req/s, ${res.non2xx + res.errors} failed of ${res.requests}): RSS first ${win.toFixed(0)} s mean ${mean(first.map((x) => x.rss)).toFixed(1)} MB, ` +
    `last ${win.toFixed(0)} s mean ${mean(last.map((x) => x.rss)).toFixed(1)} MB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB), peak ${Math.max(...samples.map((x) => x.rss)).toFixed(1)} MB; ` +
    `heap used first ${mean(first.map((x) => x.heap)).toFixed(1)} MB, last ${mean(last.map((x) => x.heap)).toFixed(1)} MB\n\n`);
}

async function main(): Promise<void> {
  await withBench(async ({ procs, ws, upstream, loadProc }) => {
    const undici = await startUndiciProxy(upstream.origin);
    procs.push(...undici.procs);
    const config = await ws.configFor(upstream.origin);
    const wardens = [];
    for (const [i, v] of ['', ...VARIANTS].entries()) {
      // Each Warden its own state directory (the SQLite store is one process's).
      const w = await startWarden(i === 0 ? config : await ws.configFor(upstream.origin, `state-${i}`), ws, v.split(' ').filter(Boolean));
      procs.push(...w.procs);
      wardens.push({ label: v ? `Warden ${v}` : 'Warden', w });
    }
    const reqs = (s: Started, token: string): LoadRequest[] => [
      { origin: s.origin, path: `/github${GET_PATH}`, method: 'GET', headers: { ...BASE_HEADERS, authorization: `Bearer ${token}` } },
      { origin: s.origin, path: `/github${GET_PATH}`, method: 'POST', headers: { ...POST_HEADERS, authorization: `Bearer ${token}` }, body: POST_BODY },
      { origin: s.origin, path: '/tools/mcp', method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: MCP_BODY },
    ];
    const systems: System[] = [
      { label: 'bare undici proxy', started: undici, requests: reqs(undici, 'not-checked'), peak: 0, cpu: [] },
      ...wardens.map(({ label, w }) => ({ label, started: w, requests: reqs(w, w.token), peak: 0, cpu: [] })),
    ];
    for (const s of systems) {
      for (const r of s.requests) {
        const res = await sendLoad(loadProc, r, 'closed', 200, { connections: 1, rate: 0 });
        if (res.ok === 0) throw new Error(`${s.label}: no successful ${r.method} ${r.path} (${JSON.stringify(res.statuses)})`);
      }
      s.idle = await s.started.procs[0]!.usage(true);
    }
    for (let rep = 0; rep < REPS; rep++) {
      for (let k = 0; k < systems.length; k++) {
        const s = systems[(rep + k) % systems.length]!;
        for (const r of s.requests) {
          const before = await s.started.procs[0]!.usage();
          const res = await sendLoad(loadProc, r, 'closed', SAT_MS, { connections: CONNECTIONS, rate: 0 });
          const u = await s.started.procs[0]!.usage(true);
          s.peak = Math.max(s.peak, u.peakRss);
          const cpu = (u.cpuUs - before.cpuUs) / Math.max(1, res.requests);
          s.cpu.push(cpu);
          log(`${s.label.padEnd(18)} ${r.method} ${r.path.padEnd(32)} ${res.rps.toFixed(0).padStart(6)} req/s  ${cpu.toFixed(0)} µs/req  peak RSS ${(u.peakRss / MB).toFixed(1)} MB  heap ${((u.heapUsed ?? 0) / MB).toFixed(1)}/${((u.heapTotal ?? 0) / MB).toFixed(1)} MB  external ${((u.external ?? 0) / MB).toFixed(1)} MB${res.non2xx + res.errors ? `  FAILED ${res.non2xx + res.errors}` : ''}`);
        }
      }
    }
    for (const s of systems) s.end = await s.started.procs[0]!.usage();
    const mb = (x: number | undefined): string => (x === undefined ? '—' : (x / MB).toFixed(1));
    process.stdout.write(`${table(
      ['system', 'CPU µs/req (median)', 'idle RSS MB', 'peak RSS MB', 'RSS at end MB', 'heap used / total MB', 'external MB', 'RSS − heap − external MB'],
      systems.map((s) => [s.label, median(s.cpu).toFixed(0), mb(s.idle!.rss), mb(s.peak), mb(s.end!.rss), `${mb(s.end!.heapUsed)} / ${mb(s.end!.heapTotal)}`, mb(s.end!.external), mb(s.end!.rss - (s.end!.heapTotal ?? 0) - (s.end!.external ?? 0))]),
    )}\n`);
    if (SOAK_S > 0) await soak(loadProc, systems[1]!);
    const [u, ...ws2] = systems as [System, ...System[]];
    process.stdout.write(`\n${ws2.map((w) => `${w.label} peak − undici peak: ${((w.peak - u.peak) / MB).toFixed(1)} MB`).join('; ')} (target ≤ 15 MB); ${REPS} rotated repetitions of ${SAT_MS / 1000} s per request kind, ${CONNECTIONS} connections.\n`);
  });
}

runMain('bench:memory', main);
