// Wiring of `decision_log.service`: the shipper, its metrics and its operational log lines. The
// shipper (log-shipper.ts) runs in a worker thread (ship-thread.ts): on the main thread, encoding
// the lines, the completions of gzip and the uploads cost several µs a request, 6–10 % of the
// proxy's throughput at saturation (bench/HISTORY.md, issue 14). The main thread only copies each
// decision line's bytes (as the decision log encoded them) into a buffer that it transfers to the
// thread, which gives it back: no string crosses, nothing is cloned. The metrics and log lines
// stay here, driven by the thread's reports.

import { Buffer } from 'node:buffer';
import type { Logger } from 'pino';
import type { Worker } from 'node:worker_threads';
import { withRoom } from '../grow-buffer.js';
import type { Metrics } from '../observability/metrics.js';
import type { LoadedConfig } from '../config/load.js';
import { closeThread, startThread } from '../service/thread.js';
import type { LogShipperStats } from './log-shipper.js';
import type { ShipThreadCommand, ShipThreadData, ShipThreadReport } from './ship-thread.js';

/** Failed uploads are logged at most this often (a dead collector must not flood stderr). */
const FAILURE_LOG_EVERY_MS = 10_000;

/** Decisions posted to the thread in one message, at most. */
const POST_EVERY_DECISIONS = 256;
/** How long a decision waits on the main thread for its message, at most. */
const POST_EVERY_MS = 20;
/** How much longer than its drain time close() waits for the thread to finish. */
const CLOSE_MARGIN_MS = 500;
/** First size of a buffer of posted lines (it doubles as needed), and how many the thread's give-backs keep. */
const POST_BUFFER_BYTES = 64 * 1024;
const MAX_SPARES = 2;

/** A buffer that owns its ArrayBuffer (none of Buffer's shared pool), so that it can be transferred. */
const ownBuffer = (size: number): Buffer => Buffer.allocUnsafeSlow(size);

/** The shipper as the sidecar uses it; `stats` are the thread's, as last reported. */
export interface DecisionShipper {
  /** One decision line as its UTF-8 bytes, `src` from `from` to `to` (copied at once). */
  push(src: Buffer, from: number, to: number): void;
  start(): void;
  close(drainMs: number): Promise<void>;
  readonly stats: LogShipperStats;
}

export function createLogShipper(loaded: LoadedConfig, metrics: Metrics, ops: Logger): DecisionShipper | undefined {
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
  };
  const worker = startThread(import.meta.url, './ship-thread', data);
  // A shipper never closed must not hold the process; close() holds it while the thread drains.
  worker.unref();
  return new ShipperThread(worker, metrics, ops);
}

class ShipperThread implements DecisionShipper {
  readonly #worker: Worker;
  readonly #metrics: Metrics;
  readonly #ops: Logger;
  /** The bytes of the lines not posted yet, each followed by a newline; `#count` lines. */
  #pending = ownBuffer(POST_BUFFER_BYTES);
  #pendingBytes = 0;
  #count = 0;
  /** Buffers the thread gave back. */
  #spares: Buffer[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Decisions posted to the thread, and those it has reported shipped or dropped. */
  #posted = 0;
  #settled = 0;
  #stats: LogShipperStats = { bufferedBytes: 0, bufferedEvents: 0 };
  /** Set once close() is called, or once the thread has ended: later lines are dropped. */
  #closing = false;
  #dead = false;
  #closed: Promise<void> | undefined;
  #lastFailureLog = 0;
  #droppedSinceLog = 0;

  constructor(worker: Worker, metrics: Metrics, ops: Logger) {
    this.#worker = worker;
    this.#metrics = metrics;
    this.#ops = ops;
    metrics.sampleLogBuffer(() => this.#stats.bufferedBytes);
    worker.on('message', (m: ShipThreadReport) => {
      if (m.type === 'report') this.#report(m);
      else if (m.type === 'spare' && this.#spares.length < MAX_SPARES) this.#spares.push(Buffer.from(m.bytes));
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
    const pending = (this.#pending = withRoom(this.#pending, this.#pendingBytes, n + 1, ownBuffer));
    src.copy(pending, this.#pendingBytes, from, to);
    pending[this.#pendingBytes + n] = 0x0a;
    this.#pendingBytes += n + 1;
    if (++this.#count >= POST_EVERY_DECISIONS) this.#post();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#post(), POST_EVERY_MS);
      this.#timer.unref();
    }
  }

  get stats(): LogShipperStats {
    return this.#stats;
  }

  /** Posts what is pending, waits for the thread to ship it (bounded by `drainMs`), and ends it. */
  close(drainMs: number): Promise<void> {
    return (this.#closed ??= this.#close(drainMs));
  }

  async #close(drainMs: number): Promise<void> {
    this.#post();
    this.#closing = true;
    await closeThread(this.#worker, { type: 'close', drainMs } satisfies ShipThreadCommand, drainMs + CLOSE_MARGIN_MS);
    // What the thread has not reported by now is lost with it.
    this.#dropped(this.#posted - this.#settled);
    this.#settled = this.#posted;
    this.#stats = { bufferedBytes: 0, bufferedEvents: 0 };
  }

  #post(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#count === 0) return;
    const bytes = this.#pending.buffer as ArrayBuffer;
    const length = this.#pendingBytes;
    this.#posted += this.#count;
    this.#pending = this.#spares.pop() ?? ownBuffer(POST_BUFFER_BYTES);
    this.#pendingBytes = this.#count = 0;
    this.#send({ type: 'lines', bytes, length }, [bytes]);
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
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const lost = this.#posted - this.#settled + this.#count;
    this.#pendingBytes = this.#count = 0;
    this.#settled = this.#posted;
    this.#stats = { bufferedBytes: 0, bufferedEvents: 0 };
    this.#dropped(lost);
    this.#ops.error({ err, dropped: lost }, 'the decision-log shipping thread ended; decisions are no longer shipped (the local log keeps them)');
  }
}
