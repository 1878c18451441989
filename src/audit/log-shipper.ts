// Decision-log shipping as OPA's decision-log plugin does it: events are buffered and POSTed as a
// gzip'd JSON array to `<url>/logs`, every min_delay–max_delay. Each line is encoded into the open
// batch (ship-batch.ts) as it arrives; a batch is sealed and compressed when it reaches the upload
// size (and then sent at once) or its time comes, and kept compressed until the collector
// acknowledges it. The buffer is
// bounded in uncompressed bytes (lines waiting and lines in flight both count): when it is full
// the new event is dropped and counted, so a dead collector costs memory up to the bound and never
// blocks or crashes the request path. A failed upload stays at the head and is sent again with
// backoff, so events arrive in order and once; `close()` ships what is left within the drain time.
// The local file log is written independently and keeps every line.

import { Agent, request, type Dispatcher } from 'undici';
import { WardenError, describeThrown } from '../errors.js';
import { backoffDelay, bearerHeader, nextDelay } from '../service/backoff.js';
import { ShipBatch } from './ship-batch.js';

export interface LogShipperOptions {
  readonly url: string;
  readonly token?: () => string;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxBufferBytes: number;
  /** Largest uncompressed upload; a bigger backlog goes out in several POSTs. */
  readonly maxUploadBytes: number;
  readonly timeoutMs: number;
}

export interface LogShipperEvents {
  shipped(events: number): void;
  dropped(events: number): void;
  failed(err: WardenError): void;
}

export interface LogShipperStats {
  readonly bufferedBytes: number;
  readonly bufferedEvents: number;
}

/** Buffers of compressed batches kept for the next ones: the open batch and one being compressed. */
const MAX_SPARES = 2;

/** First retry after a failed upload. */
const MIN_RETRY_MS = 250;

export class LogShipper {
  readonly #opts: LogShipperOptions;
  readonly #report: LogShipperEvents;
  readonly #target: string;
  /** One kept-alive connection (closing it after each upload cost a connect and an error object per upload). */
  readonly #agent: Dispatcher = new Agent({ connections: 1 });
  /** Sealed batches not yet acknowledged by the collector, oldest first (the head may be in flight). */
  #sealed: ShipBatch[] = [];
  /** The batch lines are being added to. */
  #open: ShipBatch | undefined;
  /** Uncompressed bytes and events of every batch not acknowledged, the open one included. */
  #bytes = 0;
  #events = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #uploading: Promise<void> | undefined;
  #closed = false;

  constructor(opts: LogShipperOptions, events: LogShipperEvents) {
    this.#opts = opts;
    this.#report = events;
    this.#target = `${opts.url.replace(/\/+$/, '')}/logs`;
  }

  start(): void {
    this.#schedule();
  }

  /** Buffer one decision line (a JSON object: `line + rest`). Never blocks; drops and counts when full. */
  push(line: string, rest = ''): void {
    if (this.#closed) this.#report.dropped(1);
    else this.#take((open) => open.stage(line, rest));
  }

  /** push() of a line given as its UTF-8 bytes, `src` from `from` to `to` (copied). */
  pushBytes(src: Buffer, from: number, to: number): void {
    if (this.#closed) this.#report.dropped(1);
    else this.#take((open) => open.stageBytes(src, from, to));
  }

  /** Keeps the line that `stage` writes into the open batch, or drops it when the buffer is full. */
  #take(stage: (open: ShipBatch) => number): void {
    let open = (this.#open ??= this.#newBatch());
    // The line is written into the batch first: its UTF-8 size (+1, its comma) comes with it.
    const size = stage(open);
    if (this.#bytes + size > this.#opts.maxBufferBytes) {
      this.#report.dropped(1);
      return;
    }
    if (open.events > 0 && open.bytes + size > this.#opts.maxUploadBytes) {
      const next = this.#newBatch();
      open.moveStaged(size, next);
      this.#seal();
      open = this.#open = next;
      // A full batch goes at once (unless uploads are failing: then the backoff decides). Waiting
      // for the timer would let a busy Warden fill the buffer and drop what the collector could take.
      if (this.#failures === 0 && !this.#closed) void this.#upload(false);
    } else open.keep(size);
    this.#bytes += size;
    this.#events++;
  }

  get stats(): LogShipperStats {
    return { bufferedBytes: this.#bytes, bufferedEvents: this.#events };
  }

  /** Upload everything buffered now (one attempt per batch); resolves when done or failed. */
  flush(): Promise<void> {
    return this.#upload(true);
  }

  /** Uploads the sealed batches (and the open one, sealed first, with `all`), one upload at a time. */
  #upload(all: boolean): Promise<void> {
    if (all) this.#seal();
    this.#uploading ??= this.#uploadAll().finally(() => {
      this.#uploading = undefined;
      // Sealed while the last upload was finishing: not left for the timer.
      if (this.#sealed.length > 0 && this.#failures === 0 && !this.#closed) void this.#upload(false);
    });
    return this.#uploading;
  }

  /** Stop polling and ship what is left, retrying until `drainMs` has passed; the rest is dropped. */
  async close(drainMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const deadline = Date.now() + drainMs;
    let timer: NodeJS.Timeout | undefined;
    const drained = (async () => {
      while (this.stats.bufferedEvents > 0 && Date.now() < deadline) {
        await this.flush();
        if (this.stats.bufferedEvents === 0) break;
        const wait = Math.min(backoffDelay(MIN_RETRY_MS, this.#opts.maxDelayMs, this.#failures - 1), deadline - Date.now());
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
    // A collector that hangs must not hold the shutdown past the drain time.
    await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, drainMs)))]);
    clearTimeout(timer);
    const left = this.#events;
    if (left > 0) this.#report.dropped(left);
    this.#sealed = [];
    this.#open = undefined;
    this.#bytes = this.#events = 0;
    await this.#agent.destroy();
  }

  #schedule(): void {
    if (this.#closed) return;
    const { minDelayMs, maxDelayMs } = this.#opts;
    const delay = nextDelay(minDelayMs, maxDelayMs, MIN_RETRY_MS, this.#failures);
    this.#timer = setTimeout(() => void this.flush().finally(() => this.#schedule()), delay);
    this.#timer.unref();
  }

  #newBatch(): ShipBatch {
    return new ShipBatch(Math.min(64 * 1024, this.#opts.maxUploadBytes + 2), this.#spares.pop());
  }

  /** Buffers of compressed batches, for the next ones (at most MAX_SPARES kept). */
  readonly #spares: Buffer[] = [];
  readonly #release = (buf: Buffer): void => {
    if (this.#spares.length < MAX_SPARES) this.#spares.push(buf);
  };

  /** Seals the open batch (when it holds a line) and queues it for upload. */
  #seal(): void {
    const open = this.#open;
    if (!open || open.events === 0) return;
    // A rejection is taken when the batch is uploaded; until then it must not count as unhandled.
    open.seal(this.#release).catch(() => undefined);
    this.#sealed.push(open);
    this.#open = undefined;
  }

  async #uploadAll(): Promise<void> {
    while (this.#sealed.length > 0) {
      const batch = this.#sealed[0]!;
      try {
        await this.#post(await batch.seal());
      } catch (err) {
        // The batch stays at the head: it is sent again first, so the order holds. (Its compression
        // can only fail when memory is exhausted; then this retries until the drain gives up.)
        this.#failures++;
        this.#report.failed(err instanceof WardenError ? err : new WardenError('AUDIT_SHIP_FAILED', describeThrown(err), { cause: err }));
        return;
      }
      this.#failures = 0;
      // close() gave up on this upload at the drain time and has already counted it as dropped.
      if (this.#sealed[0] !== batch) return;
      this.#sealed.shift();
      this.#bytes -= batch.bytes;
      this.#events -= batch.events;
      this.#report.shipped(batch.events);
    }
  }

  async #post(body: Buffer): Promise<void> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.#target, {
        dispatcher: this.#agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...bearerHeader(this.#opts.token) },
        body,
        headersTimeout: this.#opts.timeoutMs,
        bodyTimeout: this.#opts.timeoutMs,
      });
    } catch (err) {
      throw new WardenError('AUDIT_SHIP_FAILED', `${this.#opts.url}: ${describeThrown(err)}`, { cause: err });
    }
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) throw new WardenError('AUDIT_SHIP_FAILED', `${this.#opts.url}: HTTP ${res.statusCode}`);
  }
}
