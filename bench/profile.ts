// Summary of a V8 .cpuprofile (node --cpu-prof): self time per function, top N.

import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  fn: string;
  where: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  share: number;
}

/** A time window in µs of CLOCK_MONOTONIC (process.hrtime), which V8's profile timestamps use too. */
export interface Window {
  fromUs: number;
  toUs: number;
}

/**
 * Self time per function, top N. With a window, only samples inside it count (start-up and
 * shutdown left out); when no sample falls inside it the whole profile is used.
 */
export function topSelfTime(file: string, root: string, n = 15, window?: Window): { top: SelfTime[]; busyMs: number; totalMs: number; windowed: boolean } {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  let keep: (i: number) => boolean = () => true;
  let windowed = false;
  if (window) {
    const at: number[] = [];
    let t = prof.startTime;
    for (const dt of prof.timeDeltas) at.push((t += dt));
    const inside = (i: number): boolean => at[i]! >= window.fromUs && at[i]! <= window.toUs;
    if (at.some((_, i) => inside(i))) {
      keep = inside;
      windowed = true;
    }
  }
  const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]));
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  let idle = 0;
  prof.samples.forEach((id, i) => {
    if (!keep(i)) return;
    const dt = prof.timeDeltas[i] ?? 0;
    total += dt;
    const cf = byId.get(id)?.callFrame;
    if (!cf) return;
    if (cf.functionName === '(idle)') {
      idle += dt;
      return;
    }
    const where = shortUrl(cf.url, root) + (cf.url ? `:${cf.lineNumber + 1}` : '');
    const key = `${cf.functionName}@${where}`;
    const e = self.get(key) ?? { fn: cf.functionName || '(anonymous)', where, us: 0 };
    e.us += dt;
    self.set(key, e);
  });
  const busy = total - idle;
  const top = [...self.values()].sort((a, b) => b.us - a.us).slice(0, n).map((e) => ({ fn: e.fn, where: e.where, ms: e.us / 1000, share: e.us / busy }));
  return { top, busyMs: busy / 1000, totalMs: total / 1000, windowed };
}

function shortUrl(url: string, root: string): string {
  if (!url) return '';
  let p = url.replace(/^file:\/\//, '');
  if (p.startsWith(root)) p = path.relative(root, p);
  return p.replace(/^node_modules\//, 'nm/');
}

/** Self time per file (busy share), top N. */
export function selfTimeByFile(file: string, root: string, n = 10, window?: Window): Array<{ file: string; share: number }> {
  const { top } = topSelfTime(file, root, 100_000, window);
  const byFile = new Map<string, number>();
  for (const t of top) {
    const f = t.where.replace(/:\d+$/, '') || '(native / V8)';
    byFile.set(f, (byFile.get(f) ?? 0) + t.share);
  }
  return [...byFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([f, share]) => ({ file: f, share }));
}

export interface Inclusive {
  fn: string;
  where: string;
  share: number;
}

/**
 * Inclusive (self + callees) time of the functions whose file matches `filter`, top N, as a share
 * of busy time; and for the native functions with the most self time, the first JavaScript
 * frame above them (who called `writev`, `stat`, ...).
 */
export function inclusiveTime(file: string, root: string, filter: (where: string) => boolean, n = 15, window?: Window): { top: Inclusive[]; nativeCallers: Array<{ native: string; caller: string; share: number }> } {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]));
  const parent = new Map<number, number>();
  for (const nd of prof.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
  const at: number[] = [];
  let t = prof.startTime;
  for (const dt of prof.timeDeltas) at.push((t += dt));
  const inWindow = (i: number): boolean => !window || (at[i]! >= window.fromUs && at[i]! <= window.toUs);
  const label = (nd: ProfileNode): { key: string; fn: string; where: string } => {
    const cf = nd.callFrame;
    const where = shortUrl(cf.url, root) + (cf.url ? `:${cf.lineNumber + 1}` : '');
    return { key: `${cf.functionName}@${where}`, fn: cf.functionName || '(anonymous)', where };
  };
  const incl = new Map<string, { fn: string; where: string; us: number }>();
  const callers = new Map<string, { native: string; caller: string; us: number }>();
  let busy = 0;
  prof.samples.forEach((id, i) => {
    if (!inWindow(i)) return;
    const dt = prof.timeDeltas[i] ?? 0;
    const leaf = byId.get(id);
    if (!leaf || leaf.callFrame.functionName === '(idle)') return;
    busy += dt;
    const seen = new Set<string>();
    let caller: string | undefined;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const nd = byId.get(cur);
      if (!nd) break;
      const l = label(nd);
      if (caller === undefined && nd.callFrame.url) caller = `${l.fn} (${l.where})`;
      if (seen.has(l.key) || !filter(l.where)) continue;
      seen.add(l.key);
      const e = incl.get(l.key) ?? { fn: l.fn, where: l.where, us: 0 };
      e.us += dt;
      incl.set(l.key, e);
    }
    if (!leaf.callFrame.url && !leaf.callFrame.functionName.startsWith('(')) {
      const key = `${leaf.callFrame.functionName}<-${caller ?? '?'}`;
      const e = callers.get(key) ?? { native: leaf.callFrame.functionName, caller: caller ?? '?', us: 0 };
      e.us += dt;
      callers.set(key, e);
    }
  });
  const top = [...incl.values()].sort((a, b) => b.us - a.us).slice(0, n).map((e) => ({ fn: e.fn, where: e.where, share: e.us / busy }));
  const nativeCallers = [...callers.values()].sort((a, b) => b.us - a.us).slice(0, 10).map((e) => ({ native: e.native, caller: e.caller, share: e.us / busy }));
  return { top, nativeCallers };
}
