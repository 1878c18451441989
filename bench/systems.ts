// Starting the systems under test. Each runs in its own process; `procs` are the processes whose
// CPU and memory count for the system. The nginx systems are in nginx/nginx.ts.

import { createServer } from 'node:net';
import { ADMIN_TOKEN, type Workspace } from './warden-config.js';
import { HEAP_FLAGS } from '../src/heap-flags.js';
import { readyMessage, spawnNode, stderrMatch, type Proc } from './procs.js';

export interface Started {
  readonly origin: string;
  readonly procs: Proc[];
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function nodeServer(name: string, script: string, args: string[], nodeArgs: string[] = []): Promise<Started> {
  const proc = spawnNode(name, script, args, { nodeArgs });
  const { port } = await readyMessage<{ port: number }>(proc);
  return { origin: `http://127.0.0.1:${port}`, procs: [proc] };
}

export const startUpstream = (): Promise<Started> => nodeServer('upstream', 'bench/servers/upstream.ts', []);
export const startUndiciProxy = (upstream: string, nodeArgs: string[] = []): Promise<Started> => nodeServer('undici-proxy', 'bench/servers/undici-proxy.ts', ['--upstream', upstream], nodeArgs);
export const startHttpProxy = (upstream: string): Promise<Started> => nodeServer('http-proxy', 'bench/servers/http-proxy.ts', ['--upstream', upstream]);

export interface StartedWarden extends Started {
  readonly admin: string;
  readonly token: string;
}

/** How Warden's process is started: under another command (`wrap`, e.g. valgrind), and how long it may take to listen. */
export interface Launch {
  readonly wrap?: readonly string[];
  readonly startMs?: number;
}

/** `warden run` (or `warden control`) on `config`; its listeners' origins from the "warden listening" line. */
async function spawnWarden(role: 'run' | 'control', config: string, ws: Workspace, nodeArgs: string[] = [], root?: string, launch: Launch = {}): Promise<{ proc: Proc; origin: string; admin: string }> {
  const proc = spawnNode(role === 'run' ? 'warden' : 'warden-control', 'src/main.ts', [role, '--config', config], { env: ws.env, nodeArgs: [...HEAP_FLAGS, ...nodeArgs], ...(root !== undefined && { root }), ...(launch.wrap && { wrap: launch.wrap }) });
  const m = await stderrMatch(proc, role === 'run' ? /"proxy":\{[^}]*"port":(\d+)\},"admin":\{[^}]*"port":(\d+)\}/ : /"admin":\{[^}]*"port":(\d+)\}()/, launch.startMs ?? 60_000);
  return { proc, origin: role === 'run' ? `http://127.0.0.1:${m[1]}` : '', admin: `http://127.0.0.1:${role === 'run' ? m[2] : m[1]}` };
}

/** Registers the benchmark's agent and creates its task through the admin API at `admin`; returns the task token. */
export async function benchTask(admin: string, root?: string): Promise<string> {
  // identity.registered_agents_only is on by default: the benchmark's agent is registered first.
  const reg = await fetch(`${admin}/v1/agents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'bench', owner: 'bench', scopes: ['*'] }),
  });
  // A Warden restarted on the same state_dir (the profile run) knows the agent already; a build
  // from before agents existed (bench/ab.ts on an older checkout) has no such route.
  if (reg.status !== 201 && reg.status !== 409 && !(root !== undefined && reg.status === 404)) throw new Error(`POST /v1/agents answered ${reg.status}: ${await reg.text()}`);
  const res = await fetch(`${admin}/v1/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agent: 'bench', user: { id: 'alice', roles: ['developer'] }, stage: 'execute', risk: 'low', scopes: ['github:write'], ttl: '1h' }),
  });
  const body = (await res.json()) as { token?: string; task_id?: string };
  if (res.status !== 201 || !body.token) throw new Error(`POST /v1/tasks answered ${res.status}: ${JSON.stringify(body)}`);
  return body.token;
}

/** `root`: a compiled checkout to run Warden from (bench/ab.ts), default this one. */
export async function startWarden(config: string, ws: Workspace, nodeArgs: string[] = [], root?: string, launch: Launch = {}): Promise<StartedWarden> {
  const { proc, origin, admin } = await spawnWarden('run', config, ws, nodeArgs, root, launch);
  return { origin, admin, token: await benchTask(admin, root), procs: [proc] };
}

/** A fleet member without a task of its own: `warden control` (no proxy: `origin` is empty) or a sidecar. */
export async function startFleetMember(role: 'run' | 'control', config: string, ws: Workspace, nodeArgs: string[] = []): Promise<Started & { readonly admin: string }> {
  const { proc, origin, admin } = await spawnWarden(role, config, ws, nodeArgs);
  return { origin, admin, procs: [proc] };
}

/** Policy bundle loads so far, from Warden's /metrics. */
export async function bundleLoads(admin: string): Promise<{ ok: number; error: number }> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const out = { ok: 0, error: 0 };
  for (const line of text.split('\n')) {
    if (!line.startsWith('warden_bundle_loads_total{')) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.includes('result="ok"')) out.ok += v;
    else out.error += v;
  }
  return out;
}
