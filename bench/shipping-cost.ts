// What decision-log shipping costs a decision, measured alone (issue 14; target ≤ 5 % of Warden's
// CPU per request): the decision log writing the bench GET's decision line to a file, with and
// without `decision_log.service` shipping each line to a collector in a child process, timed
// in-process with process.cpuUsage (the gzip on libuv's threads included) from the first decision
// until the shipper has closed with everything acknowledged. Compare with the CPU µs per request of
// `npm run bench:ops` (plain Warden).
// Decisions come at --rate a second (the saturation rate of `bench:ops`), in turns of 30.
// Usage: node dist/bench/shipping-cost.js [--n 20000] [--rounds 5] [--rate 8000] [--root DIR (another
// compiled checkout's decision log and shipper, for a before/after)]

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DecisionLog as DecisionLogClass, DecisionLogOptions, DecisionRecord } from '../src/audit/decision-log.js';
import type { LogShipper as LogShipperClass } from '../src/audit/log-shipper.js';
import { stringFlag } from './harness.js';
import { median } from './stats.js';

const N = Number(stringFlag('--n') ?? 20_000);
const ROUNDS = Number(stringFlag('--rounds') ?? 5);
const RATE = Number(stringFlag('--rate') ?? 8000);
const ROOT = stringFlag('--root');

const COLLECTOR = `const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.writeHead(204).end()); });
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`;

/** The decision of the benchmark's GET (bench/requests.ts), as the proxy records it. */
function record(): DecisionRecord {
  const id = randomUUID();
  const task = randomUUID();
  const input = {
    request: { id, method: 'GET', upstream: 'github', path: '/repos/acme/app/issues', query: {}, headers: { accept: 'application/vnd.github+json', traceparent: `00-${randomUUID().replaceAll('-', '')}-958557a11a2527bc-01` }, body: null, body_digest: 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', size: 0 },
    time: { now_ns: Date.now() * 1e6, rfc3339: new Date().toISOString() },
    agent: { id: 'bench', issuer: 'warden', claims: { tid: task, iss: 'warden', aud: 'warden', sub: 'bench', iat: 1796218992, nbf: 1796218992, exp: 1796222592, jti: randomUUID() }, owner: 'bench', status: 'active', scopes: ['*'] },
    task: { id: task, stage: 'execute', risk: 'low', user: { id: 'alice', roles: ['developer'] }, scopes: ['github:write'], expires_at: '2026-12-02T14:43:12.000Z', usage: { calls: 351, stage_calls: 351 } },
  };
  return {
    decision_id: id, path: 'warden/decision', input, input_json: JSON.stringify(input), result: RESULT, revision: 'sha256:fffa6008dd617e7c', outcome: 'allow',
    agent: 'bench', task, stage: 'execute', lane: 'read', credential: { lane: 'read', kind: 'static', id: 'github/read' }, upstream: 'github', method: 'GET',
    status: 200, upstream_status: 200, duration_ms: 0.845, eval_ns: 14862,
  };
}
const RESULT = Object.freeze({ decision: 'allow', reason: 'read access', risk: 'low', headers: Object.freeze({ 'x-warden-stage': 'execute' }), lane: 'read' });

async function main(): Promise<void> {
  const base = ROOT ? pathToFileURL(path.resolve(ROOT, 'dist/src/audit/')).href : new URL('../src/audit/', import.meta.url).href;
  const { DecisionLog } = (await import(`${base}/decision-log.js`)) as { DecisionLog: typeof DecisionLogClass };
  const { LogShipper } = (await import(`${base}/log-shipper.js`)) as { LogShipper: typeof LogShipperClass };
  const collector = spawn(process.execPath, ['-e', COLLECTOR], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [port] = (await once(collector.stdout!, 'data')) as [Buffer];
  const url = `http://127.0.0.1:${String(port).trim()}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'warden-ship-cost-'));
  const records = Array.from({ length: 1024 }, record);
  const round = async (ship: boolean, k: number): Promise<number> => {
    let dropped = 0;
    const shipper = ship ? new LogShipper({ url, minDelayMs: 1000, maxDelayMs: 5000, maxBufferBytes: 33_554_432, maxUploadBytes: 1_048_576, timeoutMs: 10_000 }, { shipped: () => undefined, dropped: (n) => (dropped += n), failed: () => undefined }) : undefined;
    // A checkout from before the decision log handed over bytes (--root) hands over two strings.
    const handOver = (line: Buffer | string, from: number | string, to?: number): void =>
      typeof line === 'string' ? shipper!.push(line, from as string) : shipper!.pushBytes(line, from as number, to!);
    const log = new DecisionLog({ path: path.join(dir, `decisions-${k}.log`), mask: [], maxBodyBytes: 1_048_576, ...(shipper && { ship: handOver as DecisionLogOptions['ship'] }) });
    shipper?.start();
    const t0 = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < N; i++) {
      log.decision(records[i % 1024]!);
      if (i % 30 !== 29) continue;
      const ahead = (i + 1) / (RATE / 1000) - (performance.now() - start);
      await new Promise((r) => (ahead > 1 ? setTimeout(r, ahead) : setImmediate(r)));
    }
    await log.close();
    await shipper?.close(30_000);
    const used = process.cpuUsage(t0);
    // A shipper that drops does less than one that ships: said, not hidden.
    if (dropped > 0) process.stderr.write(`shipping-cost: ${dropped} of ${N} decisions dropped (buffer full)\n`);
    return (used.user + used.system) / N;
  };
  let k = 0;
  try {
    await round(true, k++);
    const us = { plain: [] as number[], shipping: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      us.plain.push(await round(false, k++));
      us.shipping.push(await round(true, k++));
    }
    const d = us.shipping.map((s, i) => s - us.plain[i]!);
    process.stdout.write(`decision log alone ${median(us.plain).toFixed(1)} µs/decision, with shipping ${median(us.shipping).toFixed(1)}: shipping costs ${median(d).toFixed(1)} µs/decision (median of ${ROUNDS} paired rounds of ${N} at ${RATE}/s; min ${Math.min(...d).toFixed(1)}, max ${Math.max(...d).toFixed(1)})\n`);
  } finally {
    collector.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`shipping-cost: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
