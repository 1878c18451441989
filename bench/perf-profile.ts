// CPU time of a process by where it is spent, from Linux `perf` (cpu-clock samples of all its
// threads, JIT and wasm code named through `node --perf-basic-prof`). `node --cpu-prof` samples
// wall time on the main thread: time the process waits for a CPU inside a native call is charged
// to that call (on a 2-core host, the socket write that wakes the load generator: bench/HISTORY.md,
// eleventh session). perf counts only time spent on a CPU, in the kernel too. Optional: without
// perf, or the right to use it, the benchmark says so and goes on.

import { spawn, spawnSync } from 'node:child_process';

export const PARTS = ['kernel', 'V8 and Node (node binary)', 'JIT: JavaScript and regular expressions', 'JIT: wasm', 'libc', 'other'] as const;
export type Part = (typeof PARTS)[number];

export interface PerfSymbol {
  readonly dso: string;
  readonly sym: string;
  /** Share of the recorded CPU time. */
  readonly share: number;
}

export interface PerfReport {
  readonly parts: ReadonlyMap<Part, number>;
  /** Highest self share first. */
  readonly symbols: readonly PerfSymbol[];
}

/** Why perf cannot record here, or undefined when it can. */
export function perfUnavailable(): string | undefined {
  const r = spawnSync('perf', ['record', '-e', 'cpu-clock', '-o', '/dev/null', '--', 'true'], { encoding: 'utf8' });
  if (r.error) return `perf could not be run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  if (r.status !== 0) return `perf record failed: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`}`;
  return undefined;
}

/** Record every thread of `pid` for `seconds` (cpu-clock at `hz`) into `out`. */
export function perfRecord(pid: number, seconds: number, out: string, hz = 999): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('perf', ['record', '-e', 'cpu-clock', '-F', String(hz), '-p', String(pid), '-o', out, '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`perf record exited with ${code}: ${err.trim()}`))));
  });
}

/** The part of the process a sample's symbol belongs to. */
export function partOf(dso: string, sym: string, kernel: boolean): Part {
  if (kernel || dso === '[kernel.kallsyms]') return 'kernel';
  if (dso.startsWith('[JIT]')) {
    // --perf-basic-prof names wasm functions `JS:<name>-<index>-<tier>` and `JS:wasm-…`.
    return /^JS:wasm[-_]|-\d+-(?:turbofan|liftoff)$/.test(sym) ? 'JIT: wasm' : 'JIT: JavaScript and regular expressions';
  }
  if (dso === 'node') return 'V8 and Node (node binary)';
  if (dso.startsWith('libc.so')) return 'libc';
  return 'other';
}

const LINE = /^\s*([\d.]+)%\s+(.+?)\s+\[([.k])\]\s+(.*?)\s*$/;

/** Self shares from the text of `perf report --stdio --no-children --sort dso,sym -g none`. */
export function parsePerfReport(text: string): PerfReport {
  const parts = new Map<Part, number>(PARTS.map((p) => [p, 0]));
  const symbols: PerfSymbol[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const share = Number(m[1]) / 100;
    const dso = m[2]!;
    const sym = m[4]!;
    const part = partOf(dso, sym, m[3] === 'k');
    parts.set(part, parts.get(part)! + share);
    symbols.push({ dso, sym, share });
  }
  symbols.sort((a, b) => b.share - a.share);
  return { parts, symbols };
}

export function perfReport(file: string): PerfReport {
  const r = spawnSync('perf', ['report', '-i', file, '--stdio', '--no-children', '--sort', 'dso,sym', '-g', 'none', '--percent-limit', '0'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`perf report failed: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`}`);
  return parsePerfReport(r.stdout);
}
