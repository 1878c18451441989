// Policy evaluation alone, in-process with the project's PolicyEngine: p50/p99 of
// engine.evaluate() for a typical input (the GET of the proxy rounds) and for an MCP tools/call
// input, after a warm-up. Also the same with JSON.stringify of the input included, and "input +
// eval": the proxy's own evaluate() step (src/proxy/evaluate.ts: the input built from the call's
// request, agent and task, serialized, evaluated, timed into the metrics), which is what the
// request path pays for its policy check. Run in its own process by run.ts.
// Usage: eval.ts --bundle FILE [--n 20000]

import { Metrics } from '../src/observability/metrics.js';
import { PolicyEngine } from '../src/policy/engine.js';
import type { CallContext } from '../src/proxy/call-context.js';
import { evaluate } from '../src/proxy/evaluate.js';
import { percentile } from './stats.js';

export interface EvalFigures {
  name: string;
  n: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  decision: string;
}

const arg = (name: string, def?: string): string => {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : def;
  if (v === undefined) throw new Error(`missing ${name}`);
  return v;
};

const now = Date.now();
// A registered agent: the authenticator adds the registry's owner, status and scopes.
const agent = {
  id: 'bench', issuer: 'warden',
  claims: { iss: 'warden', sub: 'bench', aud: 'warden', tid: 'task-0b6f5c1e', jti: 'c8d2a1f0-6f55-4f8e-9d0a-0d1f2e3c4b5a', iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 3600 },
  owner: 'alice', status: 'active' as const, scopes: ['github:read', 'github:write'],
};
const task = {
  id: 'task-0b6f5c1e', stage: 'execute', risk: 'low', user: { id: 'alice', roles: ['developer'] }, scopes: ['github:write'],
  expires_at: new Date(now + 3_600_000).toISOString(), usage: { calls: 42, stage_calls: 42 },
};
const time = { now_ns: now * 1_000_000, rfc3339: new Date(now).toISOString() };
const EMPTY_DIGEST = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export const getInput = {
  request: {
    id: '6f1c3f5e-8d47-4b7e-a1e4-9b8f0c2d3e4f', method: 'GET', upstream: 'github', path: '/repos/acme/app/issues',
    query: { state: ['open'], per_page: ['50'] }, headers: { accept: 'application/vnd.github+json', 'user-agent': 'bench-agent/1.0', 'x-github-api-version': '2022-11-28' },
    body: null, body_digest: EMPTY_DIGEST, size: 0,
  },
  agent, task, time,
};

const mcpBody = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'search_code', arguments: { query: 'repo:acme/app PolicyEngine', per_page: 20 } } };
export const mcpInputDoc = {
  request: {
    id: '7a2d4e6f-1b3c-4d5e-8f9a-0b1c2d3e4f5a', method: 'POST', upstream: 'tools', path: '/mcp', query: {},
    headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'user-agent': 'bench-agent/1.0' },
    body: mcpBody, body_digest: 'sha256:5d1c0a0b7c9e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a', content_type: 'application/json', size: JSON.stringify(mcpBody).length,
  },
  mcp: { method: 'tools/call', id: 7, tool: 'search_code', arguments: mcpBody.params.arguments },
  agent, task, time,
};

/**
 * No policy: a fixed piece of pure JavaScript (integer arithmetic, no allocation, no wasm), timed
 * the same way. Its spread is the host's alone: on a shared machine a fixed amount of work has a
 * p99 well above its p50 too, which the evaluation's p99 includes.
 */
export const HOST_REFERENCE = 'host reference: a fixed JavaScript loop (no policy)';
function fixedWork(): string {
  let x = 0;
  for (let i = 0; i < 20_000; i++) x = (x * 31 + i) | 0;
  return x === 0.5 ? '' : '—';
}

function measure(name: string, n: number, fn: () => string): EvalFigures {
  for (let i = 0; i < 2000; i++) fn();
  const samples = new Float64Array(n);
  let decision = '';
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    decision = fn();
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  samples.sort();
  let sum = 0;
  for (const v of samples) sum += v;
  return { name, n, p50Us: percentile(samples, 0.5), p99Us: percentile(samples, 0.99), meanUs: sum / n, decision };
}

async function main(): Promise<void> {
  const engine = new PolicyEngine({ entrypoint: 'warden/decision', maxMemoryPages: 512 });
  await engine.load(arg('--bundle'));
  const n = Number(arg('--n', '20000'));
  const getJson = JSON.stringify(getInput);
  const mcpJson = JSON.stringify(mcpInputDoc);
  const metrics = new Metrics();
  // Only what evaluate() reads of a call; the rest of CallContext is the forwarding side.
  const call = (doc: typeof getInput | typeof mcpInputDoc): CallContext => ({ request: doc.request, mcp: 'mcp' in doc ? doc.mcp : undefined, principal: { agent, task } }) as unknown as CallContext;
  const proxyEval = (c: CallContext) => (): string => {
    const ev = evaluate(engine, metrics, c, undefined);
    if (!ev.result.ok) throw ev.result.error;
    return ev.result.decision.decision;
  };
  const figures = [
    measure('GET input: evaluate', n, () => engine.evaluate(getJson).decision.decision),
    measure('GET input: JSON.stringify + evaluate', n, () => engine.evaluate(JSON.stringify(getInput)).decision.decision),
    measure('MCP tools/call input: evaluate', n, () => engine.evaluate(mcpJson).decision.decision),
    measure('input + eval (GET): proxy evaluate()', n, proxyEval(call(getInput))),
    measure('input + eval (MCP tools/call): proxy evaluate()', n, proxyEval(call(mcpInputDoc))),
    measure(HOST_REFERENCE, n, fixedWork),
  ];
  process.send?.({ type: 'ready', figures, inputBytes: { get: getJson.length, mcp: mcpJson.length } });
  if (!process.send) console.log(JSON.stringify(figures, null, 2));
}

if (process.argv.includes('--bundle')) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
