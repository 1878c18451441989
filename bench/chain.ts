// The decision log's hash chain alone: CPU per line of encoding the line and Chain.linkBytes()
// (SHA-256 over the previous hash and the line's bytes, and the chain field), as the log does it, for decision lines of the shapes Warden writes,
// and the share of a signed checkpoint (one Ed25519 signature every `every` lines). Batches of 1000
// links are measured in process CPU time (process.cpuUsage, user + system), after a warm-up: on a
// shared machine, wall time would count the time other processes held the core.
// Usage: npx tsx bench/chain.ts [--batches 300]   (or node dist/bench/chain.js after npm run build)

import { generateKeyPairSync } from 'node:crypto';
import { Chain, PREV_BYTES } from '../src/audit/chain.js';
import { checkpointLine } from '../src/audit/checkpoint.js';
import { getInput, mcpInputDoc } from './eval.js';
import { median, percentile } from './stats.js';

const BATCH = 1000;

function decisionLine(input: object): string {
  return JSON.stringify({
    timestamp: new Date().toISOString(), type: 'decision', decision_id: '6f1c3f5e-8d47-4b7e-a1e4-9b8f0c2d3e4f', path: 'warden/decision',
    outcome: 'allow', agent: 'bench', task: 'task-0b6f5c1e', stage: 'execute', lane: 'read', upstream: 'github', method: 'GET', status: 200,
    upstream_status: 200, duration_ms: 0.41, bundles: { warden: { revision: 'rev-1' } }, metrics: { timer_rego_eval_ns: 12000 },
    result: { decision: 'allow', reason: 'read access', lane: 'read', risk: 'low', headers: { 'x-warden-stage': 'execute' }, approvers: [] }, input,
  });
}

function perLineUs(line: string, batches: number): { p50: number; p99: number } {
  const chain = new Chain();
  const buf = Buffer.allocUnsafe(PREV_BYTES + 3 * line.length);
  const link = (): string => chain.linkBytes(buf, PREV_BYTES + buf.write(line, PREV_BYTES));
  for (let i = 0; i < 20 * BATCH; i++) link();
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < BATCH; i++) link();
    const d = process.cpuUsage(t0);
    samples.push((d.user + d.system) / BATCH);
  }
  samples.sort((a, b) => a - b);
  return { p50: median(samples), p99: percentile(samples, 0.99) };
}

const i = process.argv.indexOf('--batches');
const batches = i >= 0 ? Number(process.argv[i + 1]) : 300;
const bigBody = { ...getInput, request: { ...getInput.request, method: 'POST', body: { text: 'x'.repeat(64 * 1024) }, size: 64 * 1024 + 11 } };
const cases = [
  ['GET decision line', decisionLine(getInput)],
  ['MCP tools/call decision line', decisionLine(mcpInputDoc)],
  ['64 KiB body (decision_log.max_body_bytes)', decisionLine(bigBody)],
] as const;
const rows = cases.map(([name, line]) => ({ name, bytes: line.length, ...perLineUs(line, batches) }));

const { privateKey } = generateKeyPairSync('ed25519');
const signs: number[] = [];
for (let b = 0; b < 40; b++) {
  const t0 = process.cpuUsage();
  for (let k = 0; k < 100; k++) checkpointLine({ seq: k, hash: 'a'.repeat(64) }, 'every', { every: 1000, intervalMs: 10_000, key: privateKey });
  const d = process.cpuUsage(t0);
  signs.push((d.user + d.system) / 100);
}
const signUs = median(signs.slice(5));

console.log('| line | bytes | chain CPU µs/line, median | p99 (of batch means) |');
console.log('|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.bytes} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
console.log(`\nsigned checkpoint: ${signUs.toFixed(1)} µs each; every 1000 lines (the default) that is ${(signUs / 1000).toFixed(3)} µs a line`);
