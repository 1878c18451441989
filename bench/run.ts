// `npm run bench`: Warden against the bare proxies (undici, nginx) and the architecture users run
// today, nginx `auth_request` + an OPA server (issues 5 and 15), and what decision-log shipping
// and tracing add to Warden (issue 14).
// Every system, the upstream and the load generator run in their own process; systems are
// interleaved (order rotated each repetition) in short rounds so machine noise hits all alike,
// and the medians of the repetitions are reported. Writes bench/RESULTS.md.
//
// Flags: --reps N (3)  --sat MS (5000)  --fixed MS (4000)  --rate R (500)  --connections N (32)
//        --settle MS (3000: saturation per system once before the first repetition)
//        --ops-cycles N (12) --ops-slice MS (2000) --ops-procs P (4): issue 14's cost, from N
//        cycles of slices of P plain, P shipping and P tracing Wardens side by side, and of P more
//        plain ones (the A/A control: the noise of that measurement)
//        --soak SECONDS (60; the 10-minute check is --soak 600)  --no-profile  --out FILE
//        --profile-only (just the CPU profile of Warden, printed)  --keep-profile FILE (.cpuprofile copy)
//        --profile-request get|post|mcp (the request profiled; GET unless told)

import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { markedSections } from './sections.js';
import { median } from './stats.js';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureOpa } from '../scripts/opa.mjs';
import { HOST_REFERENCE, type EvalFigures } from './eval.js';
import type { LoadResult } from './load.js';
import { HEAP_FLAGS } from '../src/heap-flags.js';
import { ROOT, readyMessage, spawnNode, type Proc, type Usage } from './procs.js';
import { inclusiveTime, selfTimeByFile, topSelfTime } from './profile.js';
import { perfSection, type PerfRun } from './perf-section.js';
import { medians, ms, num, roundsTable, systemsTable, table, targetsTable, type RoundFigures, type SystemSummary, type Target } from './report.js';
import { NGINX_OPA_TOKEN, missingNginx, startBareNginx, startNginxOpa } from './nginx/nginx.js';
import { bundleLoads, startHttpProxy, startUndiciProxy, startUpstream, startWarden, type Started, type StartedWarden } from './systems.js';
import { OPS_LABELS, interleavedCost, opsConfig, sampledTraceparent, startSink, type OpsKind, type Sink } from './ops-variants.js';
import { createWorkspace, type Workspace } from './warden-config.js';
import { flag, withBench } from './harness.js';
import { sendLoad, startLoadGenerator, type LoadRequest } from './load-client.js';
import { BASE_HEADERS, GET_PATH, MCP_BODY, MCP_HEADERS, POST_BODY, POST_HEADERS } from './requests.js';

const REPS = flag('--reps', 3);
const SAT_MS = flag('--sat', 5000);
const FIXED_MS = flag('--fixed', 4000);
const RATE = flag('--rate', 500);
const CONNECTIONS = flag('--connections', 32);
const SOAK_S = flag('--soak', 60);
const WARMUP_MS = 1000;
/** Saturation each system gets once before the first repetition, so JIT compilation and heap sizing settle. */
const SETTLE_MS = flag('--settle', 3000);
const PROFILE = !process.argv.includes('--no-profile');
/** Issue 14's cost: cycles of short saturation slices of the plain, shipping and tracing Wardens (ops-variants.ts). */
const OPS_CYCLES = flag('--ops-cycles', 12);
const OPS_SLICE_MS = flag('--ops-slice', 2000);
/**
 * Wardens a side in the slices. Processes of the same code differ by 2-8 % on this host, a
 * difference no number of cycles averages out: with two a side, the A/A control read from -2.5 to
 * +4.2 % in one session's runs (bench/HISTORY.md, issue 14, seventeenth session).
 */
const OPS_PROCS = flag('--ops-procs', 4);
const inWords = (n: number): string => ['one', 'two', 'three', 'four', 'five', 'six'][n - 1] ?? String(n);
/** The comparisons of the interleaved slices, as reported. */
const OPS_SIDES = [`decision-log shipping (${inWords(OPS_PROCS)} Wardens)`, `tracing every request (${inWords(OPS_PROCS)} Wardens)`, `plain again (${inWords(OPS_PROCS)} Wardens, A/A control)`];
/** Node options for Warden's process, e.g. `--warden-node-args "--max-semi-space-size=2"`. */
const WARDEN_NODE_ARGS = ((i) => (i >= 0 ? (process.argv[i + 1] ?? '').split(' ').filter(Boolean) : []))(process.argv.indexOf('--warden-node-args'));
/** `--profile-request get|post|mcp`: the request the profile run sends (GET unless told). */
const PROFILE_REQUEST = ((i) => (i >= 0 ? process.argv[i + 1] : 'get'))(process.argv.indexOf('--profile-request'));
if (!['get', 'post', 'mcp'].includes(PROFILE_REQUEST ?? '')) throw new Error('--profile-request takes get, post or mcp');
const KEEP_PROFILE = (() => {
  const i = process.argv.indexOf('--keep-profile');
  return i >= 0 ? path.resolve(process.argv[i + 1]!) : undefined;
})();
const OUT = (() => {
  const i = process.argv.indexOf('--out');
  return i >= 0 ? path.resolve(process.argv[i + 1]!) : path.join(ROOT, 'bench', 'RESULTS.md');
})();


const log = (msg: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};
const sleep = (msDelay: number): Promise<void> => new Promise((r) => setTimeout(r, msDelay));

// ---- load generator -------------------------------------------------------------------------

let loadProc: Proc;

function load(req: LoadRequest, mode: 'closed' | 'open', durationMs: number): Promise<LoadResult> {
  return sendLoad(loadProc, req, mode, durationMs, { connections: CONNECTIONS, rate: RATE });
}

type Request = LoadRequest;

// ---- systems and rounds ---------------------------------------------------------------------

interface Variant {
  key: string;
  label: string;
  req: Request;
  /** Processes whose CPU and memory count (none for direct). */
  procs: Proc[];
  rounds: RoundFigures[];
  idleRssMb?: number;
}

async function usageOf(procs: Proc[], reset = false): Promise<Usage[]> {
  return Promise.all(procs.map((p) => p.usage(reset)));
}

/** CPU µs per request of a system's processes between two usage readings. */
function cpuPerRequest(before: Usage[], after: Usage[], requests: number): number {
  return after.reduce((a, u, i) => a + u.cpuUs - before[i]!.cpuUs, 0) / Math.max(1, requests);
}

async function round(v: Variant): Promise<void> {
  await load(v.req, 'closed', WARMUP_MS);
  const before = await usageOf(v.procs, true);
  const sat = await load(v.req, 'closed', SAT_MS);
  const afterSat = await usageOf(v.procs);
  const fixed = await load(v.req, 'open', FIXED_MS);
  const afterFixed = await usageOf(v.procs);
  const cpu = v.procs.length ? cpuPerRequest(before, afterSat, sat.requests) : undefined;
  const peak = v.procs.length ? afterSat.reduce((a, u, i) => a + Math.max(u.peakRss, afterFixed[i]!.peakRss), 0) / 2 ** 20 : undefined;
  const failed = sat.non2xx + sat.errors + fixed.non2xx + fixed.errors;
  v.rounds.push({
    rps: sat.rps, satP50Us: sat.p50Us, satP99Us: sat.p99Us, fixedP50Us: fixed.p50Us, fixedP99Us: fixed.p99Us,
    cpuUsPerReq: cpu, peakRssMb: peak, failed, requests: sat.requests + fixed.requests,
  });
  const firstErr = sat.firstError ?? fixed.firstError;
  log(`${v.label.padEnd(34)} ${num(sat.rps).padStart(6)} req/s  p99 ${ms(sat.p99Us)} ms  fixed p99 ${ms(fixed.p99Us)} ms  cpu ${cpu === undefined ? '—' : num(cpu)} µs/req` +
    (failed ? `  FAILED ${failed} ${JSON.stringify({ ...sat.statuses })} ${firstErr ?? ''}` : ''));
}

// ---- the run --------------------------------------------------------------------------------

function machine(): { cpu: string; cores: number; memGb: string; kernel: string } {
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  return { cpu, cores: os.cpus().length, memGb: (os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release() };
}

function pkgVersion(name: string): string {
  return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** One saturation round of the GET against a Warden started under `node --cpu-prof`. */
async function profileWarden(config: string, ws: Workspace, procs: Proc[]): Promise<string> {
  log('CPU profile of Warden (node --cpu-prof) during one saturation round');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'warden-prof-'));
  const pw = await startWarden(config, ws, [...WARDEN_NODE_ARGS, '--cpu-prof', '--cpu-prof-dir', dir]);
  procs.push(...pw.procs);
  const auth = { authorization: `Bearer ${pw.token}` };
  const req: Request =
    PROFILE_REQUEST === 'mcp'
      ? { origin: pw.origin, path: '/tools/mcp', method: 'POST', headers: { ...MCP_HEADERS, ...auth }, body: MCP_BODY }
      : PROFILE_REQUEST === 'post'
        ? { origin: pw.origin, path: `/github${GET_PATH}`, method: 'POST', headers: { ...POST_HEADERS, ...auth }, body: POST_BODY }
        : { origin: pw.origin, path: `/github${GET_PATH}`, method: 'GET', headers: { ...BASE_HEADERS, ...auth } };
  await load(req, 'closed', WARMUP_MS);
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const pr = await load(req, 'closed', SAT_MS);
  const win = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
  await pw.procs[0]!.stop();
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  let section: string;
  if (file) {
    const full = path.join(dir, file);
    if (KEEP_PROFILE) await copyFile(full, KEEP_PROFILE);
    const { top, busyMs, totalMs, windowed } = topSelfTime(full, ROOT, 15, win);
    const files = selfTimeByFile(full, ROOT, 10, win);
    const incl = inclusiveTime(full, ROOT, (where) => /^(dist\/)?src\//.test(where), 20, windowed ? win : undefined);
    const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
    section = `## Where Warden spends its CPU\n\n` +
      `\`node --cpu-prof\` (wall-time samples of the main thread) on Warden during one ${SAT_MS / 1000} s saturation round of the ${PROFILE_REQUEST === 'get' ? 'GET' : PROFILE_REQUEST === 'post' ? 'POST 1 KB JSON' : 'MCP tools/call'} (${num(pr.rps)} req/s under the profiler); ` +
      `${windowed ? 'samples of the round only' : 'whole process lifetime (start-up included)'}: busy ${(busyMs / 1000).toFixed(1)} s of ${(totalMs / 1000).toFixed(1)} s. Self time, top functions (\`nm/\` = node_modules):\n\n` +
      table(['function', 'where', 'self ms', 'share of busy'], top.map((t) => [`\`${t.fn}\``, t.where || '(native)', num(t.ms), pct(t.share)])) +
      `\n\nSelf time by file:\n\n` + table(['file', 'share of busy'], files.map((f) => [f.file, pct(f.share)])) +
      `\n\nNative functions by their nearest JavaScript caller (self time):\n\n` + table(['native', 'called from', 'share of busy'], incl.nativeCallers.map((c) => [`\`${c.native}\``, c.caller, pct(c.share)])) +
      `\n\nInclusive time (self + callees) of Warden's own functions:\n\n` + table(['function', 'where', 'share of busy'], incl.top.map((t) => [`\`${t.fn}\``, t.where, pct(t.share)])) + '\n';
  } else {
    section = `## Where Warden spends its CPU\n\nNo profile was written (Warden did not exit cleanly on SIGTERM):\n\n\`\`\`\n${pw.procs[0]!.stderr().slice(-2000)}\n\`\`\`\n`;
  }
  await rm(dir, { recursive: true, force: true });
  return section;
}

/** V8's profile of Warden under load, then perf's CPU time by part of Warden and the bare proxy. */
async function profiles(upstream: string, config: string, ws: Workspace, procs: Proc[]): Promise<string> {
  const run: PerfRun = { upstream, config, ws, wardenNodeArgs: WARDEN_NODE_ARGS, settleMs: SETTLE_MS + WARMUP_MS, satMs: SAT_MS, load: (req, durationMs) => load(req, 'closed', durationMs), procs, log };
  return `${await profileWarden(config, ws, procs)}\n${await perfSection(run)}`;
}

/** `--profile-only`: just the CPU profiles of Warden under load, printed. */
async function profileOnly(): Promise<void> {
  await withBench(async (b) => {
    loadProc = b.loadProc;
    process.stdout.write(await profiles(b.upstream.origin, await b.ws.configFor(b.upstream.origin), b.ws, b.procs));
  });
}

/** What the host reference row of the evaluation table says, beside the GET evaluation's spread. */
function hostSpread(figures: readonly EvalFigures[]): string {
  const ref = figures.find((f) => f.name === HOST_REFERENCE);
  const get = figures[0];
  if (!ref || !get) return '';
  return `\nThe last row evaluates no policy: it times a fixed loop of integer arithmetic the same way. Its p99 is ${(ref.p99Us / ref.p50Us).toFixed(2)} × its p50 here, the GET evaluation's ${(get.p99Us / get.p50Us).toFixed(2)} ×: that much of the spread of a fixed amount of work is this host's.\n`;
}

async function main(): Promise<void> {
  const missing = missingNginx();
  if (missing.length) throw new Error(`the benchmark's peers need Debian packages this machine lacks: apt-get install -y ${missing.join(' ')} (npm run bench installs nothing itself)`);
  const t0 = Date.now();
  const loadAtStart = os.loadavg()[0]!;
  const procs: Proc[] = [];
  const ws = await createWorkspace();
  const opaBin = await ensureOpa({ quiet: true });
  const opaVersion = /^Version:\s*(\S+)/m.exec(execFileSync(opaBin, ['version'], { encoding: 'utf8' }))?.[1] ?? '?';
  const sections: string[] = [];
  const targets: Target[] = [];
  const sinks: Record<OpsKind, Sink> = { shipping: await startSink(), tracing: await startSink() };
  try {
    // Policy evaluation alone, first, on a quiet machine.
    log('policy evaluation alone (in-process PolicyEngine)');
    // With Warden's own V8 options: the engine runs inside Warden's process.
    const evalProc = spawnNode('eval', 'bench/eval.ts', ['--bundle', ws.bundle, '--n', '20000'], { nodeArgs: [...HEAP_FLAGS] });
    const evalRes = await readyMessage<{ figures: EvalFigures[]; inputBytes: { get: number; mcp: number } }>(evalProc, 120_000);
    await evalProc.stop();

    log('starting upstream, load generator and systems');
    const upstream = await startUpstream();
    procs.push(...upstream.procs);
    loadProc = await startLoadGenerator(procs);
    const undiciP = await startUndiciProxy(upstream.origin);
    procs.push(...undiciP.procs);
    const httpP = await startHttpProxy(upstream.origin);
    procs.push(...httpP.procs);
    const nginxP = await startBareNginx(upstream.origin, ws.dir);
    procs.push(...nginxP.procs);
    const opaP = await startNginxOpa(upstream.origin, ws.dir, ws.regoDir);
    procs.push(...opaP.procs);
    const config = await ws.configFor(upstream.origin);
    const warden = await startWarden(config, ws, WARDEN_NODE_ARGS);
    procs.push(...warden.procs);
    // Issue 14: the same Warden shipping its decision log, and tracing every request.
    const ops: Record<OpsKind, StartedWarden> = { shipping: warden, tracing: warden };
    for (const kind of ['shipping', 'tracing'] as const) {
      const file = await opsConfig(await ws.configFor(upstream.origin, kind), path.join(ws.dir, `warden-${kind}-on.yaml`), kind, sinks[kind].url);
      ops[kind] = await startWarden(file, ws, WARDEN_NODE_ARGS);
      procs.push(...ops[kind].procs);
    }
    // Issue 14's cost is measured on Wardens that have served nothing but the slices' request, the
    // GET with the agent's traceparent: not (5), which also serves the POST, MCP and hot-reload
    // rounds, and not the two above, which serve the rounds' GET without one (code that has seen
    // more kinds of request runs slower; bench/HISTORY.md, fourteenth and fifteenth sessions).
    // Processes of the same code differ too, so each kind is OPS_PROCS processes: shipping,
    // tracing and plain Wardens, and as many more plain ones whose "cost" against the first is the
    // measurement's noise (an A/A control).
    const twins: Record<OpsKind, StartedWarden[]> = { shipping: [], tracing: [] };
    for (const kind of ['shipping', 'tracing'] as const) {
      for (let n = 2; n < 2 + OPS_PROCS; n++) {
        const file = await opsConfig(await ws.configFor(upstream.origin, `${kind}-${n}`), path.join(ws.dir, `warden-${kind}-${n}-on.yaml`), kind, sinks[kind].url);
        twins[kind].push(await startWarden(file, ws, WARDEN_NODE_ARGS));
        procs.push(...twins[kind].at(-1)!.procs);
      }
    }
    const plains: StartedWarden[] = [];
    for (const name of [...Array.from({ length: OPS_PROCS }, (_, i) => `plain-${i + 1}`), ...Array.from({ length: OPS_PROCS }, (_, i) => `control-${i + 1}`)]) {
      plains.push(await startWarden(await ws.configFor(upstream.origin, name), ws, WARDEN_NODE_ARGS));
      procs.push(...plains.at(-1)!.procs);
    }

    const bearer = (t: string): Record<string, string> => ({ ...BASE_HEADERS, authorization: `Bearer ${t}` });
    const get = (s: Started, token: string, p = `/github${GET_PATH}`): Request => ({ origin: s.origin, path: p, method: 'GET', headers: bearer(token) });
    const mcp = (s: Started, token: string): Request => ({ origin: s.origin, path: '/tools/mcp', method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: MCP_BODY });
    const post = (s: Started, token: string): Request => ({ origin: s.origin, path: `/github${GET_PATH}`, method: 'POST', headers: { ...POST_HEADERS, authorization: `Bearer ${token}` }, body: POST_BODY });
    const mk = (key: string, label: string, req: Request, s?: Started): Variant => ({ key, label, req, procs: s?.procs ?? [], rounds: [] });
    const main5 = [
      mk('direct', '(1) direct to upstream', get(upstream, 'not-checked', GET_PATH)),
      mk('undici', '(2) bare undici proxy', get(undiciP, 'not-checked'), undiciP),
      mk('http-proxy', '(3) bare http-proxy', get(httpP, 'not-checked'), httpP),
      mk('nginx', '(4) bare nginx', get(nginxP, 'not-checked'), nginxP),
      mk('warden', '(5) Warden', get(warden, warden.token), warden),
      mk('opa', '(6) nginx + OPA (auth_request, njs)', get(opaP, NGINX_OPA_TOKEN), opaP),
    ];
    const postVariants = [
      mk('undici-post', 'bare undici proxy, POST 1 KB JSON', post(undiciP, 'not-checked'), undiciP),
      mk('warden-post', 'Warden, POST 1 KB JSON', post(warden, warden.token), warden),
      mk('opa-post', 'nginx + OPA, POST 1 KB JSON', post(opaP, NGINX_OPA_TOKEN), opaP),
    ];
    const mcpVariants = [
      mk('undici-mcp', 'bare undici proxy, MCP tools/call', mcp(undiciP, 'not-checked'), undiciP),
      mk('warden-mcp', 'Warden, MCP tools/call', mcp(warden, warden.token), warden),
      mk('opa-mcp', 'nginx + OPA, MCP tools/call', mcp(opaP, NGINX_OPA_TOKEN), opaP),
    ];
    // The agent's sampled traceparent: every request of the tracing Warden's rounds and of the slices is traced.
    const traceparent = sampledTraceparent();
    const traced = (s: Started, token: string): Request => ({ ...get(s, token), headers: { ...bearer(token), traceparent } });
    const opsVariants = [
      mk('warden-shipping', OPS_LABELS.shipping, get(ops.shipping, ops.shipping.token), ops.shipping),
      mk('warden-tracing', OPS_LABELS.tracing, traced(ops.tracing, ops.tracing.token), ops.tracing),
    ];
    // Only in the interleaved slices, all sent the tracing Warden's request so that what differs is
    // the feature, not the traffic: per side (plain, shipping, tracing, control) OPS_PROCS Wardens.
    const sides = [
      plains.slice(0, OPS_PROCS).map((p, i) => mk(`warden-plain-${i + 1}`, `Warden, plain (${i + 1})`, traced(p, p.token), p)),
      ...(['shipping', 'tracing'] as const).map((kind) => twins[kind].map((w, i) => mk(`warden-${kind}-${i + 2}`, `${OPS_LABELS[kind]} (${i + 2})`, traced(w, w.token), w))),
      plains.slice(OPS_PROCS).map((p, i) => mk(`warden-control-${i + 1}`, `Warden, plain again (A/A control ${i + 1})`, traced(p, p.token), p)),
    ];
    const sliceOnly = sides.flat();
    const all = [...main5, ...postVariants, ...mcpVariants, ...opsVariants];
    const started = [...all, ...sliceOnly];
    // The order rotates each repetition; the shipping and tracing Wardens stay right behind the
    // plain one, so their rounds in the tables run back to back (their cost in the targets comes
    // from the interleaved slices further down).
    const units: Variant[][] = [...main5.slice(0, 4).map((v) => [v]), [main5[4]!, ...opsVariants], ...[...main5.slice(5), ...postVariants, ...mcpVariants].map((v) => [v])];

    // Sanity: one request each must succeed before any figure is taken.
    for (const v of started) {
      const r = await load(v.req, 'closed', 200);
      if (r.ok === 0) throw new Error(`${v.label}: no successful request (${JSON.stringify(r.statuses)} ${r.firstError ?? ''})\n${v.procs.map((p) => p.stderr()).join('\n')}`);
    }
    await sleep(500);
    for (const v of started) if (v.procs.length) v.idleRssMb = (await usageOf(v.procs)).reduce((a, u) => a + u.rss, 0) / 2 ** 20;

    log(`settling: ${SETTLE_MS / 1000} s at saturation per system`);
    for (const v of started) await load(v.req, 'closed', SETTLE_MS);
    for (let rep = 0; rep < REPS; rep++) {
      log(`repetition ${rep + 1}/${REPS}`);
      const order = units.flatMap((_, i) => units[(i + rep * 3) % units.length]!);
      for (const v of order) await round(v);
    }

    // Issue 14: what shipping and tracing cost, from short slices of the plain, shipping, tracing
    // and control Wardens side by side, OPS_PROCS processes of each.
    // Slice systems: plain, shipping, tracing, control, then the second of each, and so on: a side's
    // processes are spread over the cycle, so that the host's drift within a cycle weighs on every
    // side alike (with a side's slices back to back, it moved whole cycles by ±20 %).
    const opsSystems = Array.from({ length: OPS_PROCS }, (_, i) => sides.map((side) => side[i]!)).flat();
    const sideOf = (k: number): number[] => Array.from({ length: OPS_PROCS }, (_, i) => sides.length * i + k);
    const comparisons = [1, 2, 3].map((k) => ({ of: sideOf(k), against: sideOf(0) }));
    log(`shipping and tracing: ${OPS_CYCLES} cycles of ${OPS_SLICE_MS / 1000} s slices of ${OPS_PROCS} plain, shipping, tracing and control Wardens each`);
    // They ran no rounds: each gets as long at saturation as one repetition's GET rounds and the settling.
    for (const v of sliceOnly) await load(v.req, 'closed', SETTLE_MS + WARMUP_MS + SAT_MS);
    const sliceCpu: number[][] = opsSystems.map(() => []);
    const sliceRps: number[][] = opsSystems.map(() => []);
    const opsCost = await interleavedCost(opsSystems.length, OPS_CYCLES, async (i) => {
      const v = opsSystems[i]!;
      const before = await usageOf(v.procs);
      const r = await load(v.req, 'closed', OPS_SLICE_MS);
      const after = await usageOf(v.procs);
      sliceCpu[i]!.push(cpuPerRequest(before, after, r.requests));
      sliceRps[i]!.push(r.rps);
      return r.rps;
    }, comparisons);
    log(`shipping ${(opsCost.median[0]! * 100).toFixed(1)} %, tracing ${(opsCost.median[1]! * 100).toFixed(1)} %, A/A control ${(opsCost.median[2]! * 100).toFixed(1)} % (medians of the cycles)`);
    log(`median req/s of each slice's Warden: ${opsSystems.map((v, i) => `${v.label} ${median(sliceRps[i]!).toFixed(0)}`).join(', ')}`);
    const controlCost = `${(opsCost.median[2]! * 100).toFixed(1)} %`;
    /** Median CPU µs a request of a comparison's side: the mean of its processes' medians over the slices. */
    const sideCpu = (xs: readonly number[]): number => xs.reduce((a, s) => a + median(sliceCpu[s]!), 0) / xs.length;

    // Hot reload under load: swap the bundle file 5 times during one saturation round.
    log('hot reload under load');
    const loadsBefore = await bundleLoads(warden.admin);
    const wv = main5[4]!;
    const reloadJob = load(wv.req, 'closed', 5000);
    for (let i = 0; i < 5; i++) {
      await sleep(850);
      const tmp = `${ws.bundle}.tmp`;
      await copyFile(ws.variants[i % 2]!, tmp);
      await rename(tmp, ws.bundle); // atomic replace, as a deploy would do
    }
    const reload = await reloadJob;
    await sleep(600);
    const loadsAfter = await bundleLoads(warden.admin);
    const reloads = loadsAfter.ok - loadsBefore.ok;
    const reloadFailed = reload.non2xx + reload.errors;
    log(`reload: ${reloads} loads, ${reloadFailed} failed of ${reload.requests} (${JSON.stringify(reload.statuses)})`);

    // RSS growth under a longer Warden run.
    log(`soak: Warden at saturation for ${SOAK_S} s`);
    const samples: Array<{ t: number; rss: number }> = [];
    const soakStart = Date.now();
    const soakJob = load(wv.req, 'closed', SOAK_S * 1000);
    let soakDone = false;
    void soakJob.finally(() => {
      soakDone = true;
    });
    while (!soakDone) {
      const u = await warden.procs[0]!.usage();
      samples.push({ t: (Date.now() - soakStart) / 1000, rss: u.rss });
      await sleep(1000);
    }
    const soak = await soakJob;
    const win = Math.min(60, SOAK_S / 3);
    const inWin = (from: number, to: number): number[] => samples.filter((s) => s.t >= from && s.t < to).map((s) => s.rss / 2 ** 20);
    const first = inWin(0, win);
    const last = inWin(SOAK_S - win, SOAK_S + 5);
    const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
    const soakPeak = Math.max(...samples.map((s) => s.rss / 2 ** 20));
    log(`soak: rss first ${win.toFixed(0)} s mean ${mean(first).toFixed(1)} MB, last ${win.toFixed(0)} s mean ${mean(last).toFixed(1)} MB, peak ${soakPeak.toFixed(1)} MB, ${num(soak.rps)} req/s`);

    const lifetime = await warden.procs[0]!.usage();
    await warden.procs[0]!.stop();

    // CPU profile of Warden under load.
    const profileSection = PROFILE ? await profiles(upstream.origin, config, ws, procs) : '';

    // ---- figures, targets, report ----
    const summary = (vs: Variant[]): SystemSummary[] => vs.map((v) => ({ key: v.key, label: v.label, rounds: v.rounds, idleRssMb: v.idleRssMb }));
    const sum = summary(all);
    const m = Object.fromEntries(sum.map((s) => [s.key, medians(s)]));
    const w = m.warden!;
    const u = m.undici!;
    const o = m.opa!;
    const vsUndici = w.rps / u.rps;
    const cpuVsUndici = w.cpuUsPerReq / u.cpuUsPerReq;
    const cpuVsOpa = w.cpuUsPerReq / o.cpuUsPerReq;
    const p99VsOpa = w.fixedP99Us / o.fixedP99Us;
    const evalGet = evalRes.figures[0]!;
    const addedP99 = w.fixedP99Us - m.direct!.fixedP99Us;
    const wardenPeak = Math.max(w.peakRssMb, m['warden-mcp']!.peakRssMb, m['warden-post']!.peakRssMb, soakPeak);
    const undiciPeak = Math.max(u.peakRssMb, m['undici-mcp']!.peakRssMb, m['undici-post']!.peakRssMb);
    const growth = mean(last) - mean(first);
    const x = (v: number): string => `${v.toFixed(2)} ×`;
    targets.push(
      { name: 'Warden CPU per request ≤ 2.0 × bare undici proxy (2)', met: cpuVsUndici <= 2, figure: `${x(cpuVsUndici)} (${num(w.cpuUsPerReq)} vs ${num(u.cpuUsPerReq)} µs/req)` },
      { name: 'Warden throughput ≥ 0.55 × bare undici proxy (2)', met: vsUndici >= 0.55, figure: `${x(vsUndici)} (${num(w.rps)} vs ${num(u.rps)} req/s)` },
      { name: 'Warden CPU per request ≤ 0.3 × nginx + OPA (6)', met: cpuVsOpa <= 0.3, figure: `${x(cpuVsOpa)} (${num(w.cpuUsPerReq)} vs ${num(o.cpuUsPerReq)} µs/req)` },
      { name: `Warden p99 at ${RATE} req/s ≤ 0.5 × nginx + OPA (6)`, met: p99VsOpa <= 0.5, figure: `${x(p99VsOpa)} (${ms(w.fixedP99Us)} vs ${ms(o.fixedP99Us)} ms)` },
      { name: 'policy evaluation p99 ≤ 25 µs (GET input)', met: evalGet.p99Us <= 25, figure: `p99 ${evalGet.p99Us.toFixed(1)} µs, p50 ${evalGet.p50Us.toFixed(1)} µs` },
      ...evalRes.figures.filter((f) => f.name.startsWith('input + eval')).slice(0, 1).map((f) => ({ name: 'input building + evaluation p99 ≤ 35 µs (GET)', met: f.p99Us <= 35, figure: `p99 ${f.p99Us.toFixed(1)} µs, p50 ${f.p50Us.toFixed(1)} µs` })),
      { name: 'Warden peak RSS ≤ bare undici proxy + 15 MB', met: wardenPeak <= undiciPeak + 15, figure: `${wardenPeak.toFixed(1)} vs ${undiciPeak.toFixed(1)} MB sampled (Warden's kernel lifetime maxRSS ${(lifetime.maxRss / 2 ** 20).toFixed(1)} MB, incl. start-up)` },
      { name: `added p99 latency over direct at ${RATE} req/s ≤ 1 ms`, met: addedP99 <= 1000, figure: `${addedP99 < 0 ? '−' : '+'}${ms(Math.abs(addedP99))} ms (${ms(w.fixedP99Us)} vs ${ms(m.direct!.fixedP99Us)} ms)` },
      { name: `no RSS growth (soak ${SOAK_S} s${SOAK_S < 600 ? '; the 10-minute check is `--soak 600`' : ''})`, met: growth <= Math.max(5, mean(first) * 0.1), figure: `first ${win.toFixed(0)} s ${mean(first).toFixed(1)} MB → last ${win.toFixed(0)} s ${mean(last).toFixed(1)} MB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB)` },
      ...(['shipping', 'tracing'] as const).map((kind) => {
        const o = m[`warden-${kind}`]!;
        const k = kind === 'shipping' ? 0 : 1;
        const cost = opsCost.median[k]!;
        return { name: `${kind === 'shipping' ? 'decision-log shipping' : 'tracing every request'} costs ≤ 5 % throughput (issue 14)`, met: cost <= 0.05, figure: `${(cost * 100).toFixed(1)} % (median of ${OPS_CYCLES} interleaved cycles, ${inWords(OPS_PROCS)} processes a side; ${inWords(OPS_PROCS)} more plain Wardens, measured alike: ${controlCost}; CPU ${num(sideCpu(comparisons[k]!.of))} vs ${num(sideCpu(comparisons[k]!.against))} µs/req; the 10 s rounds above: ${num(o.rps)} vs ${num(w.rps)} req/s)` };
      }),
      { name: 'zero failed requests across a hot reload under load', met: reloadFailed === 0 && reloads >= 5, figure: `${reloadFailed} failed of ${reload.requests}; ${reloads} bundle loads seen` },
    );

    const mach = machine();
    const mcpCost = (a: string, b: string): string => `${num(m[a]!.rps)} vs ${num(m[b]!.rps)} req/s (${((m[a]!.rps / m[b]!.rps - 1) * 100).toFixed(0)} %), p99 at ${RATE}/s ${ms(m[a]!.fixedP99Us)} vs ${ms(m[b]!.fixedP99Us)} ms, CPU ${num(m[a]!.cpuUsPerReq)} vs ${num(m[b]!.cpuUsPerReq)} µs/req`;
    sections.push(
      `# Warden benchmark results\n\nWritten by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString()}; the run took ${((Date.now() - t0) / 60000).toFixed(1)} min.\n`,
      `## Machine and versions\n\n` + table(['', ''], [
        ['CPU', `${mach.cpu}, ${mach.cores} cores`], ['memory', `${mach.memGb} GiB`], ['kernel', mach.kernel],
        ['Node', process.version], ['undici', pkgVersion('undici')], ['http-proxy', pkgVersion('http-proxy')], ['opa-wasm', pkgVersion('@open-policy-agent/opa-wasm')], ['OPA', opaVersion],
      ]) + '\n',
      `## Method\n\n` +
        `- Upstream, load generator and each system under test run in their own processes, all on 127.0.0.1, all sharing the ${mach.cores} cores.\n` +
        `- Request: \`GET /github${GET_PATH}\` (direct: \`GET ${GET_PATH}\`), small JSON answer. Warden: example policy (call caps raised to 1e9), enforce mode, task token, decision log to a file.\n` +
        `- (4) is Debian's nginx proxying with kept-alive upstream connections, one worker process. (6) is the same nginx with \`auth_request\` to an njs authorizer (bench/nginx/authz.js) that builds the input Warden builds and asks \`opa run --server\` (OPA ${opaVersion}, same Rego, decision log to the console) over kept-alive connections, and forwards only on allow with the lane's credential; requests with a body go through the njs content handler, since auth_request never sees a body. Its CPU and RSS are nginx (master + worker) + OPA.\n` +
        `- Each system first runs ${SETTLE_MS / 1000} s at saturation (JIT and heap settle). Each round: ${WARMUP_MS / 1000} s warm-up, ${SAT_MS / 1000} s saturation (closed loop, ${CONNECTIONS} connections), ${FIXED_MS / 1000} s at a fixed ${RATE} req/s (open loop). ${REPS} repetitions, system order rotated; figures are medians of the repetitions (peak RSS: the highest round).\n` +
        `- CPU µs/req: user+system CPU of the system's processes over the saturation phase / requests. Peak RSS: RSS sampled every 100 ms in the process during the round. All Node processes run the compiled JavaScript of \`dist/\` (\`npm run bench\` builds it first), as deployed; Warden and the evaluation alone with the V8 options its launchers pass (\`${HEAP_FLAGS.join(' ')}\`, src/heap-flags.ts).\n` +
        `- Machine load (1-minute load average) at start ${loadAtStart.toFixed(2)}, at the end ${os.loadavg()[0]!.toFixed(2)}: other work on the machine shows up mostly in the p99 columns.\n`,
      `## Systems (GET)\n\n${systemsTable(summary(main5), RATE)}\n\n` +
        `Warden vs (2) bare undici: throughput ${x(vsUndici)}, CPU ${x(cpuVsUndici)}. ` +
        `Warden vs (6) nginx + OPA: throughput ${x(w.rps / o.rps)}, CPU ${x(cpuVsOpa)}, p99 at ${RATE}/s ${x(p99VsOpa)}.\n`,
      `## POST with a 1 KB JSON body\n\n\`POST /github${GET_PATH}\` (${POST_BODY.length} bytes; the example policy allows it on the \`write\` lane). nginx + OPA reads bodies in its njs content handler (auth_request never sees a body) and forwards through an internal location.\n\n${systemsTable(summary(postVariants), RATE)}\n\n` +
        `- Warden POST vs Warden GET: ${mcpCost('warden-post', 'warden')}.\n- nginx + OPA POST vs Warden POST: ${mcpCost('opa-post', 'warden-post')}.\n`,
      `## Policy evaluation alone\n\nIn-process \`PolicyEngine\` (\`src/policy/engine.ts\`), 20 000 evaluations after 2 000 warm-up; input ${evalRes.inputBytes.get} bytes (GET), ${evalRes.inputBytes.mcp} bytes (MCP).\n\n` +
        table(['case', 'p50 µs', 'p99 µs', 'mean µs', 'decision'], evalRes.figures.map((f) => [f.name, f.p50Us.toFixed(1), f.p99Us.toFixed(1), f.meanUs.toFixed(1), f.decision])) + '\n' +
        hostSpread(evalRes.figures),
      `## Cost of an MCP body\n\n\`POST /tools/mcp\` with a JSON-RPC \`tools/call\` of \`search_code\` (${MCP_BODY.length} bytes), against the GET.\n\n${systemsTable(summary(mcpVariants), RATE)}\n\n` +
        `- Warden MCP vs Warden GET: ${mcpCost('warden-mcp', 'warden')}.\n- bare undici MCP vs GET: ${mcpCost('undici-mcp', 'undici')}.\n- nginx + OPA MCP vs Warden MCP: ${mcpCost('opa-mcp', 'warden-mcp')}.\n`,
      `## Decision-log shipping and tracing (issue 14)\n\nThe Warden of (5) twice more, each with its own state and decision log: one also ships every decision line to a collector (\`decision_log.service\`, gzip'd JSON arrays every 1–5 s), one traces every request (a sampled \`traceparent\` on each, spans exported with OTLP/HTTP). The collector and the OTLP receiver run in the benchmark's process and only count what they get (${sinks.shipping.posts()} uploads, ${sinks.tracing.posts()} exports).\n\n${systemsTable(summary([main5[4]!, ...opsVariants]), RATE)}\n\n` +
        opsVariants.map((v) => `- ${v.label} vs Warden: ${mcpCost(v.key, 'warden')}.`).join('\n') + '\n\n' +
        `The rounds above are 10 s apart, and this host's speed drifts by ±15 % between them, more than the cost measured. The cost in the targets is therefore taken from ${OPS_CYCLES} cycles of ${OPS_SLICE_MS / 1000} s saturation slices of the Wardens back to back (order rotated each cycle; \`interleavedCost\` in bench/ops-variants.ts), all sent the same GET with the agent's sampled \`traceparent\` so that only the feature differs: per cycle, 1 − variant req/s ÷ plain req/s, then the median. The slices' Wardens have served nothing but that request: not the Wardens above (in the rounds, (5) also serves the POST, MCP and hot-reload rounds, and (5) and the shipping Warden the GET without a \`traceparent\`; code that has seen more kinds of request runs slower). Processes of the same code differ by 2–8 % on this host, so each side is ${inWords(OPS_PROCS)} processes, their req/s averaged in each cycle: ${inWords(OPS_PROCS)} shipping, ${inWords(OPS_PROCS)} tracing and ${inWords(OPS_PROCS)} plain Wardens. ${inWords(OPS_PROCS)[0]!.toUpperCase() + inWords(OPS_PROCS).slice(1)} more plain Wardens are measured the same way: their figure, which would be 0 on a quiet machine, is how far this run's measurement can be trusted.\n\n` +
        table(['cycle', ...OPS_SIDES.map((l) => `${l}: throughput cost`)], opsCost.perCycle[0]!.map((_, c) => [String(c + 1), ...opsCost.perCycle.map((xs) => `${(xs[c]! * 100).toFixed(1)} %`)])) + '\n\n' +
        `Medians: ${OPS_SIDES.map((l, k) => `${l} ${(opsCost.median[k]! * 100).toFixed(1)} % throughput, CPU ${num(sideCpu(comparisons[k]!.of))} vs ${num(sideCpu(comparisons[k]!.against))} µs/req`).join('; ')}.\n\n` +
        `Median req/s of each of the slices' Wardens: ${opsSystems.map((v, i) => `${v.label} ${num(median(sliceRps[i]!))}`).join(', ')}.\n`,
      `## Hot reload under load\n\nThe bundle file was replaced (write + rename) 5 times during a 5 s saturation round of Warden (poll interval 200 ms): ` +
        `${reloads} loads seen in \`warden_bundle_loads_total\`, ${reloadFailed} failed or non-2xx of ${reload.requests} requests (${num(reload.rps)} req/s, p99 ${ms(reload.p99Us)} ms; statuses ${JSON.stringify(reload.statuses)}).\n`,
      `## Memory over a longer run\n\nWarden at saturation for ${SOAK_S} s (${num(soak.rps)} req/s, ${soak.non2xx + soak.errors} failed of ${soak.requests}), RSS sampled each second: ` +
        `first ${win.toFixed(0)} s mean ${mean(first).toFixed(1)} MB, last ${win.toFixed(0)} s mean ${mean(last).toFixed(1)} MB, peak ${soakPeak.toFixed(1)} MB.${SOAK_S < 600 ? ' Run `npm run bench -- --soak 600` for the 10-minute check.' : ''}\n`,
      `## Targets (issues 14 and 15)\n\n${targetsTable(targets)}\n`,
      ...(profileSection ? [profileSection] : []),
      `## Every round\n\n${roundsTable(sum)}\n`,
    );
    // Sections the focused benchmarks wrote (bench/sections.ts) stay.
    const kept = markedSections(await readFile(OUT, 'utf8').catch(() => ''));
    const doc = [...sections, ...kept].join('\n');
    await writeFile(OUT, doc);
    process.stdout.write(`\n${systemsTable(summary(main5), RATE)}\n\n${systemsTable(summary([...postVariants, ...mcpVariants, ...opsVariants]), RATE)}\n\n${targetsTable(targets)}\n\nwritten ${path.relative(process.cwd(), OUT)}\n`);
  } finally {
    await Promise.all(procs.map((p) => p.stop().catch(() => undefined)));
    await Promise.all(Object.values(sinks).map((k) => k.close()));
    await ws.remove();
  }
}

(process.argv.includes('--profile-only') ? profileOnly() : main()).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
