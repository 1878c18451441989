// Wiring of `decision_log.service`: the shipper, its metrics and its operational log lines. The
// shipper (log-shipper.ts) runs in a worker thread (ship-thread.ts): on the main thread, encoding
// the lines, the completions of gzip and the uploads cost several µs a request, 6–10 % of the
// proxy's throughput at saturation (bench/HISTORY.md, issue 14). The main thread only copies each
// decision line's bytes (as the decision log encoded them) into a ring it shares with the thread
// (service/spsc-ring.ts), which the thread drains on its own timer: no string crosses, nothing is
// cloned, and the request path does not wake the thread (a message per batch did, at a cost of
// 40-230 µs each; fourteenth session). The metrics and log lines stay here, driven by the
// thread's reports.

import type { Buffer } from 'node:buffer';
import type { Logger } from 'pino';
import type { Worker } from 'node:worker_threads';
import type { Metrics } from '../observability/metrics.js';
import type { LoadedConfig } from '../config/load.js';
import { alikeMod8, createRing, RingWriter } from '../service/spsc-ring.js';
import { closeThread, leaveIdle, startThread, type Background } from '../service/thread.js';
import type { LogShipperStats } from './log-shipper.js';
import type { ShipThreadCommand, ShipThreadData, ShipThreadReport } from './ship-thread.js';

/** Failed uploads are logged at most this often (a dead collector must not flood stderr). */
const FAILURE_LOG_EVERY_MS = 10_000;

/** How often the thread drains the ring (min_delay when shorter). */
const DRAIN_MS = 100;
/**
 * The ring's size: 2300 of the benchmark's 1.8 KB lines, half a second at 4000 decisions a second,
 * five times what the thread drains each time. A line that finds it full is dropped and counted, as
 * one that finds the shipper's buffer full is; a line over a quarter of it (1 MiB, a decision log
 * whose max_body_bytes was raised far) goes to the thread in a message of its own.
 */
const RING_BYTES = 4 << 20;
/** How much longer than its drain time close() waits for the thread to finish. */
const CLOSE_MARGIN_MS = 500;

/**
 * Where a line whose first byte lies at `offset` starts in its ring record: 1-8 bytes in (after
 * the skip itself, in the record's first byte, which ship-thread.ts reads), alike mod 8 with
 * `offset` so that it is copied a word at a time (alikeMod8; a payload starts 8-aligned).
 */
export function lineSkip(offset: number): number {
  return 1 + alikeMod8(offset, 1);
}

/** The most a line's record holds beyond the line: lineSkip's largest skip. */
const MAX_SKIP = 8;

/** The shipper as the sidecar uses it; `stats` are the thread's, as last reported. */
export interface DecisionShipper {
  /** One decision line as its UTF-8 bytes, `src` from `from` to `to` (copied at once). */
  push(src: Buffer, from: number, to: number): void;
  start(): void;
  close(drainMs: number): Promise<void>;
  readonly stats: LogShipperStats;
}

/** `lowerAfterMs`: ShipThreadData's, for tests. */
export function createLogShipper(loaded: LoadedConfig, metrics: Metrics, ops: Logger, tuning: { readonly lowerAfterMs?: number } = {}): DecisionShipper | undefined {
  const svc = loaded.config.decision_log.service;
  if (!svc) return undefined;
  const data: ShipThreadData = {
    options: {
      url: svc.url,
      minDelayMs: svc.min_delay,
      maxDelayMs: svc.max_delay,
      maxBufferBytes: svc.max_buffer_bytes,
      maxUploadBytes: svc.max_upload_bytes,
      timeoutMs: svc.timeout,
    },
    token: loaded.services.logToken?.source,
    ring: createRing(RING_BYTES),
    drainMs: Math.min(DRAIN_MS, svc.min_delay),
    ...tuning,
  };
  const worker = startThread(import.meta.url, './ship-thread', data);
  // A shipper never closed must not hold the process; close() holds it while the thread drains.
  worker.unref();
  return new ShipperThread(worker, new RingWriter(data.ring), metrics, ops);
}

class ShipperThread implements DecisionShipper {
  readonly #worker: Worker;
  readonly #ring: RingWriter;
  readonly #metrics: Metrics;
  readonly #ops: Logger;
  /** Decisions handed to the thread, and those it has reported shipped or dropped. */
  #posted = 0;
  #settled = 0;
  #stats: LogShipperStats = { bufferedBytes: 0, bufferedEvents: 0 };
  /** Set once close() is called, or once the thread has ended: later lines are dropped. */
  #closing = false;
  #dead = false;
  #closed: Promise<void> | undefined;
  #lastFailureLog = 0;
  #droppedSinceLog = 0;
  /** The thread, when it runs at SCHED_IDLE (its report), and whether it has been raised since. */
  #idle: Required<Background> | undefined;
  #raised = false;

  constructor(worker: Worker, ring: RingWriter, metrics: Metrics, ops: Logger) {
    this.#worker = worker;
    this.#ring = ring;
    this.#metrics = metrics;
    this.#ops = ops;
    metrics.sampleLogBuffer(() => this.#stats.bufferedBytes);
    worker.on('message', (m: ShipThreadReport) => {
      if (m.type === 'report') this.#report(m);
      else if (m.type === 'idle') this.#idle = { tid: m.tid, chrt: m.chrt };
      else if (m.type === 'lowered') this.#raised = false;
    });
    worker.on('error', (err) => this.#died(err));
    worker.once('exit', (code) => {
      if (!this.#closing) this.#died(new Error(`the thread exited with code ${code}`));
    });
  }

  start(): void {
    this.#send({ type: 'start' });
  }

  push(src: Buffer, from: number, to: number): void {
    if (this.#closing || this.#dead) {
      this.#dropped(1);
      return;
    }
    const n = to - from;
    const ring = this.#ring;
    const at = ring.reserve(n + MAX_SKIP);
    if (at >= 0) {
      const skip = lineSkip(src.byteOffset + from);
      ring.bytes[at] = skip;
      src.copy(ring.bytes, at + skip, from, to);
      ring.commit(skip + n);
      if (ring.shouldWake()) this.#behind();
    } else if (n + MAX_SKIP > ring.maxRecord) {
      const bytes = new Uint8Array(n);
      src.copy(bytes, 0, from, to);
      this.#send({ type: 'line', bytes: bytes.buffer }, [bytes.buffer]);
    } else {
      // The thread is behind by a whole ring.
      this.#dropped(1);
      return;
    }
    this.#posted++;
  }

  get stats(): LogShipperStats {
    return this.#stats;
  }

  /** Posts what is pending, waits for the thread to ship it (bounded by `drainMs`), and ends it. */
  close(drainMs: number): Promise<void> {
    return (this.#closed ??= this.#close(drainMs));
  }

  async #close(drainMs: number): Promise<void> {
    this.#closing = true;
    await closeThread(this.#worker, { type: 'close', drainMs } satisfies ShipThreadCommand, drainMs + CLOSE_MARGIN_MS);
    // What the thread has not reported by now is lost with it.
    this.#dropped(this.#posted - this.#settled);
    this.#settled = this.#posted;
    this.#stats = { bufferedBytes: 0, bufferedEvents: 0 };
  }

  /**
   * The ring is half full: the thread's timer was not soon enough. It is woken, and when it runs at
   * SCHED_IDLE, raised to SCHED_OTHER: at SCHED_IDLE on a host whose cores are busy it would get
   * next to nothing, and the decisions would be dropped once the ring is full.
   */
  #behind(): void {
    this.#send({ type: 'drain' });
    if (this.#idle === undefined || this.#raised) return;
    this.#raised = true;
    leaveIdle(this.#idle);
    this.#send({ type: 'raised' });
  }

  #send(m: ShipThreadCommand, transfer: ArrayBuffer[] = []): void {
    if (!this.#dead) this.#worker.postMessage(m, transfer);
  }

  #report(m: Extract<ShipThreadReport, { type: 'report' }>): void {
    this.#stats = { bufferedBytes: m.bufferedBytes, bufferedEvents: m.bufferedEvents };
    this.#settled += m.shipped + m.dropped;
    if (m.shipped > 0) this.#metrics.logShipped.inc(m.shipped);
    if (m.dropped > 0) this.#dropped(m.dropped);
    if (m.failed) this.#failed(m.failed);
  }

  #dropped(n: number): void {
    if (n <= 0) return;
    this.#metrics.logDropped.inc(n);
    this.#metrics.errors.inc({ code: 'AUDIT_BUFFER_FULL' }, n);
    this.#droppedSinceLog += n;
  }

  #failed(err: { code: string; detail: string }): void {
    this.#metrics.logUploadFailures.inc();
    const now = Date.now();
    if (now - this.#lastFailureLog < FAILURE_LOG_EVERY_MS) return;
    this.#lastFailureLog = now;
    this.#ops.warn({ code: err.code, detail: err.detail, buffered_bytes: this.#stats.bufferedBytes, dropped: this.#droppedSinceLog }, 'decision-log upload failed; retrying with backoff');
    this.#droppedSinceLog = 0;
  }

  /** The thread failed or ended on its own: what it held is lost, and later lines are dropped. */
  #died(err: Error): void {
    if (this.#dead) return;
    this.#dead = true;
    const lost = this.#posted - this.#settled;
    this.#settled = this.#posted;
    this.#stats = { bufferedBytes: 0, bufferedEvents: 0 };
    this.#dropped(lost);
    this.#ops.error({ err, dropped: lost }, 'the decision-log shipping thread ended; decisions are no longer shipped (the local log keeps them)');
  }
}
