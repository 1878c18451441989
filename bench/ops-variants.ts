// The two Wardens of issue 14 beside a plain one: decision-log shipping to a collector and tracing
// to an OTLP receiver, both sinks in the benchmark's process (they accept and count, nothing more,
// so their cost does not land on the Warden measured). Used by `npm run bench` and bench:ops.

import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse, stringify } from 'yaml';
import { median } from './stats.js';

export interface Sink {
  readonly url: string;
  /** Requests received so far. */
  posts(): number;
  close(): Promise<void>;
}

/** A sink that accepts and counts what it is sent (collector or OTLP receiver). */
export async function startSink(): Promise<Sink> {
  let posts = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts: () => posts,
    close: () => new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  };
}

export type OpsKind = 'shipping' | 'tracing';

export const OPS_LABELS: Readonly<Record<OpsKind, string>> = {
  shipping: 'Warden, decision-log shipping',
  tracing: 'Warden, tracing (every request)',
};

/**
 * Writes `out`: the Warden config `base` plus shipping every decision line to `sinkUrl`
 * (`decision_log.service`) or exporting every request's trace to it (`tracing.otlp_url`), with
 * `more` settings of that section.
 */
export async function opsConfig(base: string, out: string, kind: OpsKind, sinkUrl: string, more: Record<string, unknown> = {}): Promise<string> {
  const config = parse(await readFile(base, 'utf8')) as Record<string, any>;
  if (kind === 'shipping') config.decision_log = { ...config.decision_log, service: { url: sinkUrl, ...more } };
  else config.tracing = { otlp_url: `${sinkUrl}/v1/traces`, ...more };
  await writeFile(out, stringify(config));
  return out;
}

/** A sampled W3C traceparent: every request carrying it is traced and exported. */
export function sampledTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** One saturation slice of a system: its req/s. */
export type Slice = (system: number) => Promise<number>;

/** A comparison of the interleaved slices: the systems `of` (a variant's processes) against the systems `against` (the plain ones). */
export interface Comparison {
  readonly of: readonly number[];
  readonly against: readonly number[];
}

export interface InterleavedCost {
  /** Per comparison, per cycle: 1 − mean req/s of `of` ÷ mean req/s of `against`. */
  readonly perCycle: number[][];
  /** Median over the cycles, per comparison. */
  readonly median: number[];
}

/**
 * What each variant costs against the plain Warden in throughput, from `cycles` short saturation
 * slices of every system back to back, the order rotated each cycle. On a host whose speed drifts
 * by ±15 % from one 10 s round to the next, a 2 s slice of each system right beside the others'
 * compares them under nearly the same conditions, and the median over many cycles drops the
 * cycles a hiccup fell into. Processes of the same code also differ, by 2-8 % here, whatever the
 * number of cycles (bench/HISTORY.md, thirteenth, fourteenth and seventeenth sessions): each side
 * of a comparison is the mean of several processes, and each cycle compares the slices of its own.
 */
export async function interleavedCost(systems: number, cycles: number, slice: Slice, comparisons: readonly Comparison[]): Promise<InterleavedCost> {
  const perCycle: number[][] = comparisons.map(() => []);
  const meanOf = (rps: number[], xs: readonly number[]): number => xs.reduce((a, s) => a + rps[s]!, 0) / xs.length;
  for (let c = 0; c < cycles; c++) {
    const rps = new Array<number>(systems);
    for (let k = 0; k < systems; k++) {
      const s = (k + c) % systems;
      rps[s] = await slice(s);
    }
    comparisons.forEach((cmp, i) => perCycle[i]!.push(1 - meanOf(rps, cmp.of) / meanOf(rps, cmp.against)));
  }
  return { perCycle, median: perCycle.map((xs) => median(xs)) };
}
