// Child processes of the benchmark: every system under test, the upstream and the load generator
// run in their own process. Node children get the usage preload (servers/usage-ipc.ts);
// other processes (OPA) are measured from /proc.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { UsageReport } from './servers/usage-ipc.js';

// `npm run bench` runs the compiled benchmark (dist/bench/run.js) so that every process, Warden
// included, runs as deployed: compiled JavaScript, no tsx loader. Run through tsx, children run
// their TypeScript through tsx as well.
const COMPILED = import.meta.url.endsWith('.js');
export const ROOT = fileURLToPath(new URL(COMPILED ? '../..' : '..', import.meta.url));
const USAGE_PRELOAD = fileURLToPath(new URL(COMPILED ? './servers/usage-ipc.js' : './servers/usage-ipc.ts', import.meta.url));

/** `src/main.ts` → the file to run: itself under tsx, or `dist/src/main.js` when compiled. */
function entry(script: string): string {
  return COMPILED ? `dist/${script.replace(/\.ts$/, '.js')}` : script;
}

export interface Usage {
  cpuUs: number;
  rss: number;
  peakRss: number;
  maxRss: number;
  /** Node processes only. */
  heapUsed?: number;
  heapTotal?: number;
  external?: number;
}

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** stderr so far (last 64 KiB), for error reports. */
  stderr(): string;
  usage(reset?: boolean): Promise<Usage>;
  stop(): Promise<void>;
}

let askId = 0;

/**
 * `tree`: CPU and memory are those of the process and its children (nginx's master and workers).
 * `root`: the checkout to run in (default this one; bench/ab.ts runs other builds).
 */
export function spawnProc(name: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; ipc?: boolean; tree?: boolean; root?: string } = {}): Proc {
  const child = spawn(cmd, args, {
    cwd: opts.root ?? ROOT,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? (['ipc'] as const) : [])],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-65536);
  });
  child.stdout!.resume();
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const proc: Proc = {
    name,
    child,
    stderr: () => err,
    usage(reset = false) {
      if (opts.ipc) return askUsage(child, reset);
      return Promise.resolve(opts.tree ? treeUsage(child.pid!) : procUsage(child.pid!));
    },
    async stop() {
      if (exited) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      if (child.connected) child.disconnect();
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 8_000);
      await done;
      clearTimeout(t);
    },
  };
  return proc;
}

/**
 * A Node child with the usage preload (and tsx when the benchmark itself runs under tsx). `wrap`:
 * a command that runs node, with its own arguments first (bench/instructions.ts: valgrind).
 */
export function spawnNode(name: string, script: string, args: string[], opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; root?: string; wrap?: readonly string[] } = {}): Proc {
  const loader = COMPILED ? [] : ['--import', 'tsx'];
  const node = [process.execPath, ...(opts.nodeArgs ?? []), ...loader, '--import', USAGE_PRELOAD, entry(script), ...args];
  const [cmd, ...argv] = [...(opts.wrap ?? []), ...node];
  return spawnProc(name, cmd!, argv, { ...opts, ipc: true });
}

function askUsage(child: ChildProcess, reset: boolean): Promise<Usage> {
  const id = ++askId;
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      child.off('message', onMsg);
      rej(new Error(`no usage answer from pid ${child.pid}`));
    }, 10_000);
    const onMsg = (m: unknown): void => {
      const r = m as UsageReport;
      if (r?.type !== 'usage' || r.id !== id) return;
      clearTimeout(timer);
      child.off('message', onMsg);
      res({ cpuUs: r.cpuUs, rss: r.rss, peakRss: r.peakRss, maxRss: r.maxRss, heapUsed: r.heapUsed, heapTotal: r.heapTotal, external: r.external });
    };
    child.on('message', onMsg);
    child.send({ type: 'usage', id, reset });
  });
}

const CLK_TCK = 100; // Linux USER_HZ

/** CPU and memory of any process from /proc (10 ms CPU resolution). */
export function procUsage(pid: number): Usage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  const rss = kb('VmRSS');
  return { cpuUs: (ticks * 1e6) / CLK_TCK, rss, peakRss: rss, maxRss: kb('VmHWM') };
}

/** The process and its direct children, added up. */
export function treeUsage(pid: number): Usage {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // gone
  }
  return [pid, ...kids].map((p) => {
    try {
      return procUsage(p);
    } catch {
      return { cpuUs: 0, rss: 0, peakRss: 0, maxRss: 0 };
    }
  }).reduce((a, u) => ({ cpuUs: a.cpuUs + u.cpuUs, rss: a.rss + u.rss, peakRss: a.peakRss + u.peakRss, maxRss: a.maxRss + u.maxRss }));
}

/** Resolve with the child's `{type: 'ready', ...}` IPC message. */
export function readyMessage<T extends object>(proc: Proc, timeoutMs = 30_000): Promise<T> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${proc.name} not ready after ${timeoutMs} ms:\n${proc.stderr()}`)), timeoutMs);
    proc.child.on('message', (m: unknown) => {
      if ((m as { type?: string })?.type === 'ready') {
        clearTimeout(t);
        res(m as T);
      }
    });
    proc.child.once('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`${proc.name} exited (${code}) before ready:\n${proc.stderr()}`));
    });
  });
}

/** Resolve with the first stderr match of `re`. */
export function stderrMatch(proc: Proc, re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  return new Promise((res, rej) => {
    const check = (): boolean => {
      const m = re.exec(proc.stderr());
      if (m) {
        clearTimeout(t);
        proc.child.stderr!.off('data', check);
        res(m);
        return true;
      }
      return false;
    };
    const t = setTimeout(() => rej(new Error(`${proc.name}: no ${re} on stderr after ${timeoutMs} ms:\n${proc.stderr()}`)), timeoutMs);
    proc.child.once('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`${proc.name} exited (${code}):\n${proc.stderr()}`));
    });
    if (!check()) proc.child.stderr!.on('data', check);
  });
}

/** `anyAnswer`: any HTTP status means up (nginx answers 404 on an unrouted path). */
export async function waitHttp(url: string, timeoutMs = 30_000, anyAnswer = false): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok || anyAnswer) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`${url} not answering after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
