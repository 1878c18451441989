// What the metrics cost a request, measured alone: the calls the proxy handler makes per request
// (requests.inc with three labels, evalSeconds.observe, and errors.inc on a refused one), timed
// over many rounds in-process after a warm-up. Compare with the CPU µs per request of
// bench/RESULTS.md: the issue keeps a library only where it costs at most 1 % of that.
// Usage: node dist/bench/metrics-cost.js [--n 2000000]

import { Metrics } from '../src/observability/metrics.js';

const i = process.argv.indexOf('--n');
const N = i >= 0 ? Number(process.argv[i + 1]) : 2_000_000;
const UPSTREAMS = ['github', 'jira', 'mcp'];
const STATUSES = ['200', '403', '200', '200', '502'];

function round(m: Metrics, n: number): number {
  const t0 = process.cpuUsage();
  for (let k = 0; k < n; k++) {
    const status = STATUSES[k % STATUSES.length]!;
    m.evalSeconds.observe(0.000011 + (k % 7) * 0.000002);
    m.requests.inc({ decision: status === '403' ? 'deny' : 'allow', upstream: UPSTREAMS[k % UPSTREAMS.length]!, status });
    if (status !== '200') m.errors.inc({ code: status === '403' ? 'POLICY_DENIED' : 'UPSTREAM_UNREACHABLE' });
  }
  const used = process.cpuUsage(t0);
  return ((used.user + used.system) * 1000) / n;
}

const m = new Metrics();
round(m, 200_000);
const rounds = [round(m, N), round(m, N), round(m, N)].sort((a, b) => a - b);
process.stdout.write(`metrics per request: ${rounds[1]!.toFixed(0)} ns (median of 3 rounds of ${N}; min ${rounds[0]!.toFixed(0)}, max ${rounds[2]!.toFixed(0)})\n`);
