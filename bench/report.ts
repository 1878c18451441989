// Markdown tables of one benchmark run, printed and written to bench/RESULTS.md.

import { median } from './stats.js';

export interface RoundFigures {
  rps: number;
  satP50Us: number;
  satP99Us: number;
  fixedP50Us: number;
  fixedP99Us: number;
  /** Undefined when no process of ours is in the path (direct). */
  cpuUsPerReq: number | undefined;
  peakRssMb: number | undefined;
  failed: number;
  requests: number;
}

export interface SystemSummary {
  key: string;
  label: string;
  rounds: RoundFigures[];
  /** RSS after start-up and one sanity request, before any round. */
  idleRssMb?: number | undefined;
}

export interface Medians {
  rps: number;
  satP50Us: number;
  satP99Us: number;
  fixedP50Us: number;
  fixedP99Us: number;
  cpuUsPerReq: number;
  /** Highest round peak (a peak, so the max rather than the median). */
  peakRssMb: number;
  failed: number;
  requests: number;
}

export function medians(s: SystemSummary): Medians {
  const col = (f: (r: RoundFigures) => number | undefined): number => median(s.rounds.map(f).filter((x): x is number => x !== undefined));
  const rss = s.rounds.map((r) => r.peakRssMb).filter((x): x is number => x !== undefined);
  return {
    rps: col((r) => r.rps), satP50Us: col((r) => r.satP50Us), satP99Us: col((r) => r.satP99Us),
    fixedP50Us: col((r) => r.fixedP50Us), fixedP99Us: col((r) => r.fixedP99Us), cpuUsPerReq: col((r) => r.cpuUsPerReq),
    peakRssMb: rss.length ? Math.max(...rss) : NaN,
    failed: s.rounds.reduce((a, r) => a + r.failed, 0), requests: s.rounds.reduce((a, r) => a + r.requests, 0),
  };
}

export const ms = (us: number): string => (Number.isFinite(us) ? (us / 1000).toFixed(2) : '—');
export const num = (x: number, digits = 0): string => (Number.isFinite(x) ? x.toFixed(digits) : '—');

export function table(headers: string[], rows: string[][]): string {
  const align = headers.map((_, i) => (i === 0 ? ':--' : '--:'));
  return [headers, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

export function systemsTable(systems: SystemSummary[], fixedRate: number): string {
  return table(
    ['system', 'req/s (sat.)', 'p50 ms (sat.)', 'p99 ms (sat.)', `p50 ms (${fixedRate}/s)`, `p99 ms (${fixedRate}/s)`, 'CPU µs/req', 'RSS idle MB', 'peak RSS MB', 'failed / requests'],
    systems.map((s) => {
      const m = medians(s);
      return [s.label, num(m.rps), ms(m.satP50Us), ms(m.satP99Us), ms(m.fixedP50Us), ms(m.fixedP99Us), num(m.cpuUsPerReq), s.idleRssMb === undefined ? '—' : num(s.idleRssMb, 1), num(m.peakRssMb, 1), `${m.failed} / ${m.requests}`];
    }),
  );
}

export function roundsTable(systems: SystemSummary[]): string {
  const rows: string[][] = [];
  for (const s of systems) {
    s.rounds.forEach((r, i) => rows.push([s.label, String(i + 1), num(r.rps), ms(r.satP99Us), ms(r.fixedP99Us), r.cpuUsPerReq === undefined ? '—' : num(r.cpuUsPerReq)]));
  }
  return table(['system', 'rep', 'req/s', 'p99 ms (sat.)', 'p99 ms (fixed)', 'CPU µs/req'], rows);
}

export interface Target {
  name: string;
  met: boolean;
  figure: string;
}

export function targetsTable(targets: Target[]): string {
  return table(['target', 'result', 'figure'], targets.map((t) => [t.name, t.met ? 'met' : '**missed**', t.figure]));
}
