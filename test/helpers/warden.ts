// Starts a real Warden (in process, or as a child process) on port 0 with a generated YAML
// configuration, a temp state dir and a decision log file the test can parse.

import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import { HEAP_FLAGS } from '../../src/heap-flags.js';
import { createSidecar, type Sidecar } from '../../src/sidecar.js';
import { EXAMPLE_BUNDLE } from './policy.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
process.env.WARDEN_TEST_ADMIN_TOKEN = ADMIN_TOKEN;

export interface WardenHandle {
  proxyUrl: string;
  adminUrl: string;
  dir: string;
  configFile: string;
  bundle: string;
  logFile: string;
  sidecar?: Sidecar;
  child?: ChildProcess;
  /** Decision log lines so far: waits until every request so far has been audited, then flushes. */
  log(): Promise<Record<string, unknown>[]>;
  decisions(): Promise<Record<string, unknown>[]>;
  /**
   * The decision lines of one request (by its `warden-decision-id`), polled until at least one is
   * on disk: a line is written once the answer is out, and a line in an in-flight write is not on
   * disk until that write completes, even after a flush. [] if none came within `timeoutMs`.
   */
  decisionLines(id: unknown, timeoutMs?: number): Promise<Record<string, any>[]>;
  /** The decision line of one request, polled as decisionLines; throws if none came within `timeoutMs`. */
  decisionFor(id: unknown, timeoutMs?: number): Promise<Record<string, any>>;
  close(): Promise<void>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Create a task and return its token. */
  task(fields?: Record<string, unknown>): Promise<{ task_id: string; token: string; expires_at: string }>;
}

export interface WardenOptions {
  /** Merged over the generated configuration (top-level keys replace). */
  config?: Record<string, unknown>;
  upstreams?: Record<string, Record<string, unknown>>;
  /** Bundle to copy into the temp dir (default: the example policy). */
  bundle?: string | null;
  /** Reuse this directory (restart tests). */
  dir?: string;
  /**
   * Agents registered once Warden is up (identity.registered_agents_only is on by default).
   * Default: DEFAULT_AGENTS, which the tasks of WardenHandle.task() use; [] registers none.
   */
  agents?: readonly Record<string, unknown>[];
  child?: boolean;
  /** The identity clock of an in-process Warden (see testClock in helpers/wait.ts). */
  now?: () => number;
  /** `control`: the control plane of a fleet (no proxy listener; `proxyUrl` is empty). */
  role?: 'sidecar' | 'control';
  /** Node options of a child-process Warden (`child: true`), e.g. V8 logging flags. */
  nodeArgs?: readonly string[];
}

/** The agents tests create tasks for: no ceiling beyond what the example tasks ask. */
export const DEFAULT_AGENTS: readonly Record<string, unknown>[] = [
  { id: 'agent-1', owner: 'platform-team', scopes: ['*'] },
  { id: 'agent-2', owner: 'platform-team', scopes: ['*'] },
];

export function writeConfig(opts: WardenOptions): { dir: string; configFile: string; bundle: string; logFile: string } {
  const dir = opts.dir ?? tempDir();
  const bundle = join(dir, 'bundle.tar.gz');
  if (opts.bundle !== null && !existsSync(bundle)) copyFileSync(opts.bundle ?? EXAMPLE_BUNDLE, bundle);
  const logFile = join(dir, 'decisions.log');
  const config = {
    listen: '127.0.0.1:0',
    state_dir: join(dir, 'state'),
    admin: { listen: '127.0.0.1:0', token: '${env:WARDEN_TEST_ADMIN_TOKEN}' },
    upstreams: opts.upstreams ?? {},
    ...opts.config,
    // Nested keys a test sets are merged over the harness's own.
    policy: { bundle, poll_interval: '100ms', ...(opts.config?.policy as object | undefined) },
    decision_log: { path: logFile, level: 'info', ...(opts.config?.decision_log as object | undefined) },
  };
  const configFile = join(dir, 'warden.yaml');
  writeFileSync(configFile, stringify(config));
  return { dir, configFile, bundle, logFile };
}

function parseLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  // An asynchronous write may be under way: only complete lines count.
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** How long decisionLines/decisionFor wait for a request's line by default. */
const DECISION_WAIT_MS = 3000;

/** The decision lines so far; [] while a line is half on disk (the log is written asynchronously). */
async function settledDecisions(handle: WardenHandle): Promise<Record<string, unknown>[]> {
  try {
    return await handle.decisions();
  } catch (err) {
    if (err instanceof SyntaxError) return [];
    throw err;
  }
}

export async function startWarden(opts: WardenOptions = {}): Promise<WardenHandle> {
  const files = writeConfig(opts);
  let proxyUrl: string;
  let adminUrl: string;
  let sidecar: Sidecar | undefined;
  let child: ChildProcess | undefined;
  if (opts.child) {
    ({ child, proxyUrl, adminUrl } = await spawnWarden(files.configFile, opts.role, opts.nodeArgs));
  } else {
    const loaded = loadConfigFile(files.configFile);
    sidecar = await createSidecar(loaded, { ops: pino({ level: 'silent' }), ...(opts.now && { now: opts.now }), ...(opts.role && { role: opts.role }) });
    const addrs = await sidecar.listen();
    proxyUrl = addrs.proxy ? `http://127.0.0.1:${addrs.proxy.port}` : '';
    adminUrl = `http://127.0.0.1:${addrs.admin.port}`;
  }
  const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(adminUrl + path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined && { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  await registerAgents(adminUrl, opts.agents);
  const handle: WardenHandle = {
    ...files,
    proxyUrl,
    adminUrl,
    sidecar,
    child,
    async log() {
      if (sidecar) {
        await sidecar.idle();
        sidecar.flushLogs();
      } else {
        await new Promise((r) => setTimeout(r, 50));
      }
      return parseLines(files.logFile);
    },
    decisions: async () => (await handle.log()).filter((l) => l.type === 'decision'),
    async decisionLines(id, timeoutMs = DECISION_WAIT_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lines = (await settledDecisions(handle)).filter((d) => d.decision_id === id);
        if (lines.length > 0) return lines as Record<string, any>[];
        if (Date.now() > deadline) return [];
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async decisionFor(id, timeoutMs) {
      const [line] = await handle.decisionLines(id, timeoutMs);
      if (!line) throw new Error(`no decision log line for ${String(id)}`);
      return line;
    },
    admin,
    async task(fields = {}) {
      const r = await admin('POST', '/v1/tasks', { agent: 'agent-1', user: { id: 'alice', roles: ['developer'] }, stage: 'execute', risk: 'low', scopes: ['github:write', 'tools:write'], ttl: '10m', ...fields });
      if (r.status !== 201) throw new Error(`task creation failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async close() {
      if (sidecar) await sidecar.close();
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child!.once('exit', r));
      }
    },
  };
  return handle;
}

/**
 * Registers agents through the admin API, as an operator would (default DEFAULT_AGENTS, which the
 * tests' tasks name); an agent registered already (a restart on the same state dir) is fine.
 */
export async function registerAgents(adminUrl: string, agents: readonly Record<string, unknown>[] = DEFAULT_AGENTS): Promise<void> {
  for (const agent of agents) {
    const res = await fetch(`${adminUrl}/v1/agents`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(agent) });
    const body = (await res.json()) as { error?: string };
    if (res.status !== 201 && body.error !== 'AGENT_EXISTS') throw new Error(`agent registration failed: ${res.status} ${JSON.stringify(body)}`);
  }
}

const MAIN = resolve(import.meta.dirname, '../../src/main.ts');

/**
 * The node arguments that run the `warden` command line from source with `args`, with the V8
 * options the `warden` bin passes (`heapFlags: false` leaves them out).
 */
export function wardenArgv(args: string[], nodeArgs: readonly string[] = [], heapFlags = true): string[] {
  return [...(heapFlags ? HEAP_FLAGS : []), ...nodeArgs, '--import', 'tsx', MAIN, ...args];
}

/** A fresh temporary directory (a Warden's state dir, kept across restarts). */
export function tempDir(prefix = 'warden-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** SIGKILL a child-process Warden (no shutdown hook runs); resolves with the signal once it has exited. */
export function killWarden(w: WardenHandle): Promise<NodeJS.Signals | null> {
  const child = w.child;
  if (!child) throw new Error('killWarden: this Warden runs in process, not as a child process');
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
  child.kill('SIGKILL');
  return exited;
}

/**
 * Start `warden run` (or `warden control`: `proxyUrl` is empty) as a child process; resolves once
 * it logs its listening addresses.
 */
export async function spawnWarden(
  configFile: string,
  role: 'sidecar' | 'control' = 'sidecar',
  nodeArgs: readonly string[] = [],
  heapFlags = true,
): Promise<{ child: ChildProcess; proxyUrl: string; adminUrl: string; stderr: () => string }> {
  const child = spawn(process.execPath, wardenArgv([role === 'control' ? 'control' : 'run', '--config', configFile], nodeArgs, heapFlags), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let err = '';
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`warden did not start: ${err}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of err.split('\n')) {
        if (!line.includes('warden listening')) continue;
        const rec = JSON.parse(line) as { proxy?: { port: number }; admin: { port: number } };
        clearTimeout(timer);
        res({ child, proxyUrl: rec.proxy ? `http://127.0.0.1:${rec.proxy.port}` : '', adminUrl: `http://127.0.0.1:${rec.admin.port}`, stderr: () => err });
        return;
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`warden exited ${code}: ${err}`));
    });
  });
}
