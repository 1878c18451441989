// Body-parse cost on the hot path (issue 10): `JSON.parse` alone against the strict reader
// (src/proxy/strict-json.ts: one validating pass, then JSON.parse) and the whole describeBody
// (digest + media type + strict read), for typical MCP `tools/call` bodies of about 1 KB and
// 64 KB. Run: `npx tsx bench/body-parse.ts` (or after `npm run build`, node dist/bench/body-parse.js).

import { describeBody } from '../src/proxy/body.js';
import { readStrictJson } from '../src/proxy/strict-json.js';

function body(targetBytes: number): Buffer {
  const files: { path: string; content: string; mode: number; tags: string[]; size: number }[] = [];
  const call = { jsonrpc: '2.0', id: 42, method: 'tools/call', params: { name: 'write_files', arguments: { repo: 'acme/app', branch: 'main', files } } };
  let i = 0;
  while (JSON.stringify(call).length < targetBytes) {
    files.push({ path: `src/module-${i}/index.ts`, content: `export const value${i} = "${'x'.repeat(40)}\\n";`, mode: 0o644, tags: ['a', 'b'], size: 1000 + i });
    i++;
  }
  return Buffer.from(JSON.stringify(call));
}

/** CPU µs per call (process.cpuUsage, so time the process spends descheduled on a busy machine does not count). */
function perOp(fn: () => void, minMs = 1500): number {
  for (let i = 0; i < 200; i++) fn();
  let n = 0;
  const t0 = process.cpuUsage();
  let elapsed = 0;
  while (elapsed < minMs * 1000) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
    const d = process.cpuUsage(t0);
    elapsed = d.user + d.system;
  }
  return elapsed / n;
}

const headers = { 'content-type': 'application/json' };
const rows: string[] = ['| body | JSON.parse µs | strict read µs | describeBody µs | strict / JSON.parse |', '|---|---:|---:|---:|---:|'];
for (const size of [1024, 65536]) {
  const b = body(size);
  const parse = perOp(() => JSON.parse(b.toString('utf8')));
  const strict = perOp(() => readStrictJson(b, { maxDepth: 64, anyValue: true }));
  const describe = perOp(() => describeBody(b, headers, { maxDepth: 64 }));
  rows.push(`| ${b.length} B | ${parse.toFixed(1)} | ${strict.toFixed(1)} | ${describe.toFixed(1)} | ${(strict / parse).toFixed(2)}× |`);
}
console.log(rows.join('\n'));
