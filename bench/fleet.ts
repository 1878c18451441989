// `npm run bench:fleet`: the fleet mode (issue 11) beside the single-process mode. One Warden on
// SQLite, and a fleet on a real redis-server (AOF, appendfsync always, as the README asks):
// `warden control` and two `warden run` sidecars. Measured, in rotated rounds on the same policy,
// upstream and GET:
// - saturation (closed loop): req/s and CPU µs per request of the Warden process (and of
//   redis-server per request in the fleet); target: Redis ≥ 0.9× the SQLite throughput;
// - a fixed rate (open loop): p50 and p99 latency, the p99 Redis adds per request;
// - revocation propagation: a task revoked on the control plane, timed until each sidecar refuses
//   it (the sidecars are polled back to back); target p99 ≤ 1 s.
// Prints a Markdown section; `--write` also puts it into bench/RESULTS.md (kept by `npm run bench`).
// Flags: --reps N (3)  --sat MS (3000)  --rate N (300)  --lat MS (3000)  --revocations N (40)
//        --connections N (32)  --warm MS (3000, per system before the rounds)  --write
//        --profile DIR (the SQLite Warden and the measured sidecar run under `node --cpu-prof`: DIR/sqlite.cpuprofile
//        and DIR/sidecar-1.cpuprofile)

import os from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { parse, stringify } from 'yaml';
import { flag, runMain, stringFlag, withBench } from './harness.js';
import { GET_PATH as UPSTREAM_GET_PATH } from './requests.js';
import { sendLoad } from './load-client.js';
import type { LoadResult } from './load.js';
import { ROOT, spawnProc, type Proc } from './procs.js';
import { ms, num, table } from './report.js';
import { writeSection } from './sections.js';
import { percentile, median } from './stats.js';
import { benchTask, freePort, startFleetMember, startWarden } from './systems.js';
import { ADMIN_TOKEN, type Workspace } from './warden-config.js';

const REPS = flag('--reps', 3);
const SAT_MS = flag('--sat', 3000);
const RATE = flag('--rate', 300);
const LAT_MS = flag('--lat', 3000);
const REVOCATIONS = flag('--revocations', 40);
const CONNECTIONS = flag('--connections', 32);
const WARM_MS = flag('--warm', 3000);
/** The benchmark's GET through the `github` upstream (bench/requests.ts). */
const GET_PATH = `/github${UPSTREAM_GET_PATH}`;
const PROFILE_DIR = stringFlag('--profile');

const log = (m: string): void => void process.stderr.write(`[bench:fleet ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

async function startRedis(ws: Workspace, procs: Proc[]): Promise<string> {
  const port = await freePort();
  procs.push(spawnProc('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', ws.dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always']));
  const url = `redis://127.0.0.1:${port}/0`;
  for (let i = 0; ; i++) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return url;
    } catch (err) {
      if (i > 200) throw new Error(`redis-server did not answer on ${url}`, { cause: err });
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
}

interface System {
  readonly label: string;
  readonly origin: string;
  readonly token: string;
  readonly warden: Proc;
  readonly redis?: Proc;
  rps: number[];
  cpu: number[];
  redisCpu: number[];
  p50: number[];
  p99: number[];
}

/** Time from sending the revocation until every sidecar refuses the task: one sample per sidecar. */
async function revocationDelays(control: string, sidecars: readonly string[]): Promise<number[]> {
  const token = await benchTask(control);
  const taskId = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { tid: string }).tid;
  const get = (origin: string): Promise<number> => fetch(origin + GET_PATH, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  });
  for (const s of sidecars) if ((await get(s)) !== 200) throw new Error(`${s}: the new task does not work`);
  const t0 = performance.now();
  const revoked = fetch(`${control}/v1/tasks/${taskId}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const delays = await Promise.all(sidecars.map(async (s) => {
    for (;;) {
      const status = await get(s);
      if (status === 401) return performance.now() - t0;
      if (status !== 200) throw new Error(`${s}: ${status} while waiting for the revocation`);
      if (performance.now() - t0 > 10_000) throw new Error(`${s}: the revocation did not arrive in 10 s`);
    }
  }));
  if ((await revoked).status !== 200) throw new Error('DELETE /v1/tasks failed');
  return delays;
}

async function main(): Promise<void> {
  await withBench(async ({ procs, ws, upstream, loadProc }) => {
    const redisUrl = await startRedis(ws, procs);
    const redisProc = procs.at(-1)!;
    const base = parse(await readFile(await ws.configFor(upstream.origin), 'utf8')) as Record<string, any>;
    const configFile = async (name: string, extra: Record<string, unknown>): Promise<string> => {
      const file = path.join(ws.dir, `${name}.yaml`);
      await writeFile(file, stringify({ ...base, state_dir: path.join(ws.dir, `state-${name}`), decision_log: { ...base.decision_log, path: path.join(ws.dir, `decisions-${name}.log`) }, ...extra }));
      return file;
    };
    const store = { kind: 'redis', url: redisUrl, prefix: 'bench:', max_staleness: '1s' };
    const sidecarAdmin = { ...base.admin, write_api: false };

    /** Node flags that profile a Warden into PROFILE_DIR/<name>.cpuprofile (with --profile). */
    const profile = (name: string): string[] => (PROFILE_DIR === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.resolve(PROFILE_DIR), '--cpu-prof-name', `${name}.cpuprofile`]);
    const single = await startWarden(await configFile('sqlite', {}), ws, profile('sqlite'));
    procs.push(...single.procs);
    const control = await startFleetMember('control', await configFile('control', { store }), ws);
    procs.push(...control.procs);
    const sidecars = [];
    for (const name of ['sidecar-1', 'sidecar-2']) {
      const s = await startFleetMember('run', await configFile(name, { store, admin: sidecarAdmin }), ws, name === 'sidecar-1' ? profile(name) : []);
      procs.push(...s.procs);
      sidecars.push(s);
    }
    const fleetToken = await benchTask(control.admin);
    const systems: System[] = [
      { label: 'SQLite (one Warden)', origin: single.origin, token: single.token, warden: single.procs[0]!, rps: [], cpu: [], redisCpu: [], p50: [], p99: [] },
      { label: 'Redis (fleet sidecar)', origin: sidecars[0]!.origin, token: fleetToken, warden: sidecars[0]!.procs[0]!, redis: redisProc, rps: [], cpu: [], redisCpu: [], p50: [], p99: [] },
    ];
    const load = (s: System, mode: 'closed' | 'open', durationMs: number): Promise<LoadResult> => sendLoad(loadProc, {
      origin: s.origin, path: GET_PATH, method: 'GET', headers: { authorization: `Bearer ${s.token}`, accept: 'application/vnd.github+json' },
    }, mode, durationMs, { connections: CONNECTIONS, rate: RATE });
    const failed = (s: System, r: LoadResult): void => {
      if (r.non2xx + r.errors > 0) throw new Error(`${s.label}: ${r.non2xx + r.errors} failed requests ${JSON.stringify(r.statuses)}`);
    };

    // JIT warm-up of every system before the first measured round.
    for (const s of systems) await load(s, 'closed', WARM_MS);
    for (let rep = 0; rep < REPS; rep++) {
      for (let k = 0; k < systems.length; k++) {
        const s = systems[(rep + k) % systems.length]!;
        await load(s, 'closed', 500);
        const before = await s.warden.usage(true);
        const redisBefore = await s.redis?.usage();
        const r = await load(s, 'closed', SAT_MS);
        const after = await s.warden.usage();
        const redisAfter = await s.redis?.usage();
        failed(s, r);
        s.rps.push(r.rps);
        s.cpu.push((after.cpuUs - before.cpuUs) / Math.max(1, r.requests));
        if (redisBefore && redisAfter) s.redisCpu.push((redisAfter.cpuUs - redisBefore.cpuUs) / Math.max(1, r.requests));
        const lat = await load(s, 'open', LAT_MS);
        failed(s, lat);
        s.p50.push(lat.p50Us);
        s.p99.push(lat.p99Us);
        log(`${s.label.padEnd(22)} ${r.rps.toFixed(0).padStart(6)} req/s  cpu ${s.cpu.at(-1)!.toFixed(1)} µs/req  p99 at ${RATE}/s ${ms(lat.p99Us)} ms`);
      }
    }

    log(`revocation propagation: ${REVOCATIONS} tasks revoked on the control plane, 2 sidecars`);
    const delays: number[] = [];
    for (let i = 0; i < REVOCATIONS; i++) delays.push(...(await revocationDelays(control.admin, sidecars.map((s) => s.origin))));
    delays.sort((a, b) => a - b);

    const [sq, rd] = systems as [System, System];
    const ratio = median(rd.rps) / median(sq.rps);
    const addedP99 = median(rd.p99) - median(sq.p99);
    const rows = systems.map((s) => [
      s.label, num(median(s.rps)), num(median(s.cpu), 1), s.redisCpu.length ? num(median(s.redisCpu), 1) : '—', ms(median(s.p50)), ms(median(s.p99)),
    ]);
    const section = [
      '## Fleet mode: Redis beside SQLite (issue 11)',
      '',
      `\`npm run bench:fleet\` (bench/fleet.ts): one Warden on SQLite, and a fleet on a local redis-server (AOF, \`appendfsync always\`) with \`warden control\` and two \`warden run\` sidecars (\`admin.write_api: false\`, no task-signing key), same policy, upstream and \`GET ${GET_PATH}\`. ` +
        `${REPS} rotated rounds: ${SAT_MS / 1000} s saturation with ${CONNECTIONS} connections (req/s, CPU of the Warden process and of redis-server per request), then ${LAT_MS / 1000} s at ${RATE} req/s (latency). Medians of the rounds.`,
      '',
      table(['system', 'req/s', 'Warden CPU µs/req', 'redis-server CPU µs/req', `p50 ms at ${RATE}/s`, `p99 ms at ${RATE}/s`], rows),
      '',
      `- Throughput, Redis / SQLite: **${ratio.toFixed(2)}×** (target ≥ 0.9×); Warden CPU per request ${(median(rd.cpu) / median(sq.cpu)).toFixed(2)}×.`,
      `- p99 added per request by the Redis mode at ${RATE} req/s: **${addedP99 >= 0 ? '+' : ''}${ms(addedP99)} ms** (p50 ${median(rd.p50) - median(sq.p50) >= 0 ? '+' : ''}${ms(median(rd.p50) - median(sq.p50))} ms).`,
      `- Revocation propagation (${REVOCATIONS} tasks revoked on the control plane, time from sending the DELETE until each of the 2 sidecars refuses the token; ${delays.length} samples): ` +
        `p50 ${percentile(delays, 0.5).toFixed(1)} ms, **p99 ${percentile(delays, 0.99).toFixed(1)} ms** (target ≤ 1000 ms), max ${delays.at(-1)!.toFixed(1)} ms.`,
      `- Machine: ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)} at the end, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. On a loaded machine req/s and p99 are noisy; CPU per request holds up better.`,
      '- Where the Redis mode spends: a call cap counts across the fleet, so a sidecar reads a task\'s counters from Redis (one `HMGET` for the requests of a turn, then kept 10 ms, plus its own counts Redis does not hold yet) and writes its counts every 50 ms in one script call (`EVALSHA`, usage-batch.ts): most requests send nothing to Redis. Task, agent and revocation state come from the pub/sub-fed cache. redis-server (AOF, fsync on every write: about 0.1 ms of its CPU each on this disk) runs on the same cores as Warden, the load generator and the upstream here, so saturation throughput also pays for its CPU and fsyncs.',
    ].join('\n');
    process.stdout.write(`${section}\n`);
    if (process.argv.includes('--write')) {
      const out = path.join(ROOT, 'bench', 'RESULTS.md');
      await writeSection(out, 'fleet', section);
      log(`written ${path.relative(process.cwd(), out)}`);
    }
  });
}

runMain('bench:fleet', main);
