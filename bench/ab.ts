// `node dist/bench/ab.js --a DIR --b DIR`: two Warden builds against each other, and nothing else.
// Each DIR is a compiled checkout (its `dist/src/main.js`; `.` is this one). Both run side by side
// with the same configuration, policy and upstream; rounds alternate A B, B A, ... so that the
// load of other processes on the machine hits both alike. Prints the medians as a Markdown table.
//
// Flags: --a DIR  --b DIR  --label-a TEXT  --label-b TEXT  --rounds N (6)  --sat MS (5000)  --connections N (32)

import path from 'node:path';
import type { LoadResult } from './load.js';
import { sendLoad, startLoadGenerator, type LoadRequest } from './load-client.js';
import type { Proc } from './procs.js';
import { BASE_HEADERS, GET_PATH, MCP_BODY, MCP_HEADERS, POST_BODY, POST_HEADERS } from './requests.js';
import { startUpstream, startWarden, type StartedWarden } from './systems.js';
import { createWorkspace } from './warden-config.js';

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : def;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
}

const ROUNDS = Number(arg('--rounds', '6'));
const SAT_MS = Number(arg('--sat', '5000'));
const CONNECTIONS = Number(arg('--connections', '32'));
const WARMUP_MS = 1000;
const log = (msg: string): void => void process.stderr.write(`[ab ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Build {
  label: string;
  warden: StartedWarden;
  rps: Record<string, number[]>;
  cpu: Record<string, number[]>;
}

async function main(): Promise<void> {
  const procs: Proc[] = [];
  try {
    const upstream = await startUpstream();
    procs.push(...upstream.procs);
    const loadProc = await startLoadGenerator(procs);
    const load = (req: LoadRequest, ms: number): Promise<LoadResult> => sendLoad(loadProc, req, 'closed', ms, { connections: CONNECTIONS, rate: 0 });

    const builds: Build[] = [];
    for (const key of ['a', 'b'] as const) {
      const root = path.resolve(arg(`--${key}`));
      const ws = await createWorkspace();
      const warden = await startWarden(await ws.configFor(upstream.origin), ws, [], root);
      procs.push(...warden.procs);
      builds.push({ label: arg(`--label-${key}`, root), warden, rps: {}, cpu: {} });
    }
    const requests = (w: StartedWarden): Record<string, LoadRequest> => {
      const auth = { authorization: `Bearer ${w.token}` };
      return {
        GET: { origin: w.origin, path: `/github${GET_PATH}`, method: 'GET', headers: { ...BASE_HEADERS, ...auth } },
        'POST 1 KB JSON': { origin: w.origin, path: `/github${GET_PATH}`, method: 'POST', headers: { ...POST_HEADERS, ...auth }, body: POST_BODY },
        'MCP tools/call': { origin: w.origin, path: '/tools/mcp', method: 'POST', headers: { ...MCP_HEADERS, ...auth }, body: MCP_BODY },
      };
    };
    for (const b of builds) {
      for (const [name, req] of Object.entries(requests(b.warden))) {
        const r = await load(req, 200);
        if (r.ok === 0) throw new Error(`${b.label} ${name}: no successful request ${JSON.stringify(r.statuses)} ${r.firstError ?? ''}`);
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? builds : [...builds].reverse();
      for (const name of Object.keys(requests(builds[0]!.warden))) {
        for (const b of order) {
          const req = requests(b.warden)[name]!;
          await load(req, WARMUP_MS);
          const before = await b.warden.procs[0]!.usage(true);
          const r = await load(req, SAT_MS);
          const after = await b.warden.procs[0]!.usage();
          if (r.non2xx + r.errors > 0) throw new Error(`${b.label} ${name}: ${r.non2xx + r.errors} failed ${JSON.stringify(r.statuses)}`);
          (b.rps[name] ??= []).push(r.rps);
          (b.cpu[name] ??= []).push((after.cpuUs - before.cpuUs) / r.requests);
          log(`round ${round + 1}/${ROUNDS} ${name.padEnd(15)} ${b.label.padEnd(24)} ${r.rps.toFixed(0).padStart(6)} req/s  ${((after.cpuUs - before.cpuUs) / r.requests).toFixed(1)} µs/req`);
        }
      }
    }
    const [a, b] = builds as [Build, Build];
    const rows = Object.keys(a.rps).map((name) => {
      const ra = median(a.rps[name]!);
      const rb = median(b.rps[name]!);
      return `| ${name} | ${ra.toFixed(0)} | ${rb.toFixed(0)} | ${(((rb - ra) / ra) * 100).toFixed(1)} % | ${median(a.cpu[name]!).toFixed(1)} | ${median(b.cpu[name]!).toFixed(1)} |`;
    });
    process.stdout.write(
      `| request | ${a.label} req/s | ${b.label} req/s | B vs A | ${a.label} µs CPU/req | ${b.label} µs CPU/req |\n|---|---:|---:|---:|---:|---:|\n${rows.join('\n')}\n\n` +
        `${ROUNDS} rounds of ${SAT_MS / 1000} s at saturation (${CONNECTIONS} connections, closed loop) per build and request, order alternating; medians.\n`,
    );
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
