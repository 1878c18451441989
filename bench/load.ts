// The load generator, run in its own process (forked by run.ts, jobs over IPC). An undici Pool
// per job; closed loop (N connections, each sending its next request when the last answer is in:
// saturation) or open loop (a fixed rate whatever the answers do). Latency of every request is
// kept (process.hrtime.bigint), percentiles are exact (nearest rank over the sorted samples).

import { Pool } from 'undici';
import { percentile } from './stats.js';

export interface LoadJob {
  type: 'job';
  id: number;
  origin: string;
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  mode: 'closed' | 'open';
  connections: number;
  durationMs: number;
  /** Requests per second, open loop only. */
  rate?: number;
}

export interface LoadResult {
  type: 'result';
  id: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  statuses: Record<string, number>;
  firstError?: string;
  seconds: number;
  rps: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  meanUs: number;
}

class Recorder {
  samples = new Float64Array(1 << 16);
  n = 0;
  ok = 0;
  non2xx = 0;
  errors = 0;
  statuses: Record<string, number> = {};
  firstError: string | undefined;

  add(us: number, status: number): void {
    if (this.n === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.n++] = us;
    if (status >= 200 && status < 300) this.ok++;
    else this.non2xx++;
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
  }

  fail(err: unknown): void {
    this.errors++;
    this.statuses.error = (this.statuses.error ?? 0) + 1;
    this.firstError ??= String((err as Error)?.message ?? err);
  }
}

async function one(pool: Pool, job: LoadJob, rec: Recorder): Promise<void> {
  const t0 = process.hrtime.bigint();
  try {
    const { statusCode, body } = await pool.request({ path: job.path, method: job.method, headers: job.headers, body: job.body ?? null });
    await body.dump();
    rec.add(Number(process.hrtime.bigint() - t0) / 1000, statusCode);
  } catch (err) {
    rec.fail(err);
  }
}

export async function runJob(job: LoadJob): Promise<LoadResult> {
  const pool = new Pool(job.origin, { connections: job.connections, keepAliveTimeout: 30_000, pipelining: 1 });
  const rec = new Recorder();
  const start = process.hrtime.bigint();
  const endNs = start + BigInt(job.durationMs) * 1_000_000n;
  if (job.mode === 'closed') {
    const worker = async (): Promise<void> => {
      while (process.hrtime.bigint() < endNs) await one(pool, job, rec);
    };
    await Promise.all(Array.from({ length: job.connections }, worker));
  } else {
    const rate = job.rate ?? 500;
    const total = Math.floor((rate * job.durationMs) / 1000);
    const inflight = new Set<Promise<void>>();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(total, Math.floor((Number(process.hrtime.bigint() - start) / 1e9) * rate));
        while (sent < due) {
          sent++;
          const p = one(pool, job, rec);
          inflight.add(p);
          void p.then(() => inflight.delete(p));
        }
        if (sent < total) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
    await Promise.all(inflight);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await pool.close();
  const sorted = rec.samples.slice(0, rec.n).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    type: 'result', id: job.id, requests: rec.n + rec.errors, ok: rec.ok, non2xx: rec.non2xx, errors: rec.errors,
    statuses: rec.statuses, ...(rec.firstError !== undefined && { firstError: rec.firstError }), seconds,
    rps: rec.ok / (job.mode === 'closed' ? job.durationMs / 1000 : seconds),
    p50Us: percentile(sorted, 0.5), p90Us: percentile(sorted, 0.9), p99Us: percentile(sorted, 0.99),
    p999Us: percentile(sorted, 0.999), maxUs: sorted.length ? sorted[sorted.length - 1]! : NaN, meanUs: rec.n ? sum / rec.n : NaN,
  };
}

if (process.send) {
  process.on('message', (m: unknown) => {
    const job = m as LoadJob;
    if (job?.type !== 'job') return;
    runJob(job).then(
      (r) => process.send!(r),
      (err: unknown) => process.send!({ type: 'result', id: job.id, failed: String((err as Error)?.stack ?? err) }),
    );
  });
  process.send({ type: 'ready' });
}
