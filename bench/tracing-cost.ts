// What tracing costs a request, measured alone (issue 14; target ≤ 5 % of Warden's CPU per
// request): per request the calls the proxy makes with tracing on (begin, four timed phases,
// record) and the batched OTLP/HTTP export to a receiver in a child process, timed in-process
// with process.cpuUsage from the first request until every export has been answered. Sampled:
// every request carries a sampled traceparent; unsampled: the parent's flag says not sampled.
// Compare with the CPU µs per request of `npm run bench:ops` (plain Warden).
// Usage: node dist/bench/tracing-cost.js [--n 20000] [--rounds 5] [--impl MODULE]

import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import type { Tracing as TracingClass } from '../src/observability/tracing.js';
import { stringFlag } from './harness.js';
import { median } from './stats.js';

const N = Number(stringFlag('--n') ?? 20_000);
const ROUNDS = Number(stringFlag('--rounds') ?? 5);
const IMPL = stringFlag('--impl');

const RECEIVER = `const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.writeHead(200, { 'content-type': 'application/json' }).end('{}')); });
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`;

async function main(): Promise<void> {
  const { Tracing } = (await import(IMPL ? pathToFileURL(IMPL).href : '../src/observability/tracing.js')) as { Tracing: typeof TracingClass };
  const receiver = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [port] = (await once(receiver.stdout!, 'data')) as [Buffer];
  const url = `http://127.0.0.1:${String(port).trim()}/v1/traces`;
  const round = async (sampled: boolean): Promise<number> => {
    const t = new Tracing({ url, serviceName: 'bench', sampleRatio: 1, exportDelayMs: 1000 });
    const parents = Array.from({ length: 1024 }, () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-${sampled ? '01' : '00'}`);
    const t0 = process.cpuUsage();
    for (let k = 0; k < N; k++) {
      const phases = t.begin(performance.now());
      for (const name of ['route', 'identify', 'evaluate', 'forward'] as const) phases.end(phases.start(name));
      t.record({ phases, endAt: performance.now(), headers: { traceparent: parents[k % 1024] }, decisionId: `d-${k}`, method: 'GET', status: 200, outcome: 'allow', upstream: 'github', error: undefined });
      if (k % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await t.close();
    const used = process.cpuUsage(t0);
    return (used.user + used.system) / N;
  };
  await round(true);
  for (const sampled of [true, false]) {
    const us: number[] = [];
    for (let r = 0; r < ROUNDS; r++) us.push(await round(sampled));
    process.stdout.write(`${sampled ? 'sampled  ' : 'unsampled'} ${median(us).toFixed(1)} µs/request (median of ${ROUNDS} rounds of ${N}; min ${Math.min(...us).toFixed(1)}, max ${Math.max(...us).toFixed(1)})\n`);
  }
  receiver.kill();
}

main().catch((err: unknown) => {
  process.stderr.write(`tracing-cost: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
