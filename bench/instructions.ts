// `npm run bench:instructions`: instructions per request of the plain, shipping and tracing
// Wardens, per thread, counted by valgrind's callgrind. Instruction counts do not follow the
// host's speed: on this machine two processes of the same code differ by up to 10 % in req/s and
// CPU, while callgrind gives the same count for the same run whatever else the machine does (the
// environment's notes). What it cannot show is time: threads run different numbers of
// instructions a µs (Warden's main thread about 1800 natively, bench/HISTORY.md, issue 14,
// fifteenth session), and under valgrind the process runs 50-100× slower, so what a thread does on
// a timer (the 100 ms drains) weighs on far fewer requests than natively. Compare the main threads;
// read the other threads' counts as upper bounds.
// Flags: --kinds plain,shipping,tracing (kind@DIR: from another checkout's build)  --warm N (3000 requests each)  --requests N (2500 each)
//        --connections N (4)  --node-args "..." (e.g. --perf-basic-prof, to name JIT code with
//        callgrind_annotate and /tmp/perf-<pid>.map)  --keep DIR (keep callgrind's files there)
// Needs valgrind (Debian's package). Takes about 8 minutes for the three Wardens.

import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { flag, runMain, stringFlag, withBench } from './harness.js';
import { sendLoad } from './load-client.js';
import { opsConfig, sampledTraceparent, startSink, type OpsKind } from './ops-variants.js';
import { table } from './report.js';
import { startWarden } from './systems.js';

/** The Wardens counted: a kind, and (`kind@DIR`) another checkout's build to run it from (bench/ab.ts builds them). */
const KINDS = (stringFlag('--kinds') ?? 'plain,shipping,tracing').split(',').map((spec) => {
  const [kind, root] = spec.split('@') as ['plain' | OpsKind, string | undefined];
  return { kind, root: root ? path.resolve(root) : undefined, label: root ? `${kind}@${path.basename(path.resolve(root))}` : kind };
});
const WARM = flag('--warm', 3000);
const REQUESTS = flag('--requests', 2500);
const CONNECTIONS = flag('--connections', 4);
const NODE_ARGS = (stringFlag('--node-args') ?? '').split(' ').filter(Boolean);
const KEEP = stringFlag('--keep');

const log = (m: string): void => void process.stderr.write(`[bench:instructions ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** What a thread's callgrind file says it is. */
function role(thread: number, text: string): string {
  if (thread === 1) return 'main';
  if (text.includes('Worker::StartThread')) return 'worker threads (shipping, tracing)';
  if (text.includes('PlatformWorkerThread')) return "V8's platform threads (GC, compilers)";
  if (text.includes('threadpool.c')) return "libuv's pool (gzip, fs)";
  return 'other';
}

async function main(): Promise<void> {
  const dir = KEEP ? path.resolve(KEEP) : await mkdtemp(path.join(os.tmpdir(), 'warden-callgrind-'));
  if (KEEP) await mkdir(dir, { recursive: true });
  const sink = await startSink();
  try {
    await withBench(async ({ procs, ws, upstream, loadProc }) => {
      const wardens: { kind: string; label: string; pid: number; origin: string; token: string }[] = [];
      for (const [i, { kind, root, label }] of KINDS.entries()) {
        const plain = await ws.configFor(upstream.origin, `cg-${i}`);
        // Uploads and exports by size, as at native rates: under valgrind a request takes 50-100
        // times as long, and the delays would send a batch every few requests.
        const delays = kind === 'shipping' ? { min_delay: '600s', max_delay: '600s' } : { export_delay: '600s' };
        const file = kind === 'plain' ? plain : await opsConfig(plain, path.join(ws.dir, `cg-${i}.yaml`), kind, sink.url, delays);
        const w = await startWarden(file, ws, NODE_ARGS, root, {
          wrap: ['valgrind', '--tool=callgrind', '--separate-threads=yes', '--smc-check=all-non-file', `--callgrind-out-file=${dir}/${kind}-${i}.%p`],
          startMs: 300_000,
        });
        procs.push(...w.procs);
        const pid = w.procs[0]!.child.pid!;
        wardens.push({ kind: `${kind}-${i}`, label: `${label}-${i}`, pid, origin: w.origin, token: w.token });
        log(`${label} started under valgrind (pid ${pid})`);
      }
      const traceparent = sampledTraceparent();
      const serve = async (w: (typeof wardens)[number], count: number): Promise<number> => {
        let n = 0;
        while (n < count) {
          const r = await sendLoad(loadProc, { origin: w.origin, path: '/github/repos/acme/app/issues', method: 'GET', headers: { authorization: `Bearer ${w.token}`, accept: 'application/vnd.github+json', traceparent } }, 'closed', 5000, { connections: CONNECTIONS, rate: 0 });
          if (r.non2xx + r.errors > 0) throw new Error(`${w.kind}: ${r.non2xx + r.errors} failed requests ${JSON.stringify(r.statuses)}`);
          n += r.requests;
        }
        return n;
      };
      await Promise.all(wardens.map((w) => serve(w, WARM)));
      log(`warmed (${WARM} requests each); counting`);
      for (const w of wardens) execFileSync('callgrind_control', ['-z', String(w.pid)], { stdio: 'ignore' });
      const served = await Promise.all(wardens.map((w) => serve(w, REQUESTS)));
      for (const w of wardens) execFileSync('callgrind_control', ['-d', String(w.pid)], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 2000));
      const files = await readdir(dir);
      const rows: string[][] = [];
      const roles = ['main', "V8's platform threads (GC, compilers)", "libuv's pool (gzip, fs)", 'worker threads (shipping, tracing)', 'other'];
      for (const [k, w] of wardens.entries()) {
        const per = new Map<string, number>();
        for (const f of files.filter((x) => x.startsWith(`${w.kind}.${w.pid}.1-`))) {
          const text = await readFile(path.join(dir, f), 'utf8');
          const ir = Number(/^(?:summary|totals): (\d+)/m.exec(text)?.[1] ?? 0);
          const r = role(Number(f.slice(f.lastIndexOf('-') + 1)), text);
          per.set(r, (per.get(r) ?? 0) + ir / served[k]!);
        }
        const total = [...per.values()].reduce((a, b) => a + b, 0);
        rows.push([w.label, String(served[k]), (total / 1000).toFixed(1), ...roles.map((r) => ((per.get(r) ?? 0) / 1000).toFixed(1))]);
      }
      process.stdout.write(`${table(['Warden', 'requests counted', 'K instructions a request', ...roles], rows)}\n\nCounted by callgrind after ${WARM} requests each (${CONNECTIONS} connections); ${KEEP ? `files kept in ${dir}` : 'files removed'}.\n`);
    });
  } finally {
    await sink.close();
    if (!KEEP) await rm(dir, { recursive: true, force: true });
  }
}

runMain('bench:instructions', main);
