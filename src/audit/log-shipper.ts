// Decision-log shipping as OPA's decision-log plugin does it: events are buffered and POSTed as a
// gzip'd JSON array to `<url>/logs`, every min_delay–max_delay. The buffer is bounded in bytes
// (lines waiting and lines in flight both count): when it is full the new event is dropped and
// counted, so a dead collector costs memory up to the bound and never blocks or crashes the
// request path. A failed upload is put back at the head and retried with backoff, so events
// arrive in order; `close()` ships what is left within the drain time. The local file log is
// written independently and keeps every line.

import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { Agent, request, type Dispatcher } from 'undici';
import { WardenError, describeThrown } from '../errors.js';
import { backoffDelay, bearerHeader, nextDelay } from '../service/backoff.js';

const gzip = promisify(gzipCb);

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

/** First retry after a failed upload. */
const MIN_RETRY_MS = 250;

export class LogShipper {
  readonly #opts: LogShipperOptions;
  readonly #events: LogShipperEvents;
  readonly #target: string;
  readonly #agent: Dispatcher = new Agent({ connections: 1, pipelining: 0 });
  /** Lines not yet acknowledged by the collector, oldest first; `#head` is the first unsent one. */
  #lines: string[] = [];
  /** UTF-8 size of each line plus its joining comma. */
  #sizes: number[] = [];
  #head = 0;
  /** First line the collector has not acknowledged (the start of the batch in flight). */
  #acked = 0;
  #bytes = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #uploading: Promise<void> | undefined;
  #closed = false;

  constructor(opts: LogShipperOptions, events: LogShipperEvents) {
    this.#opts = opts;
    this.#events = events;
    this.#target = `${opts.url.replace(/\/+$/, '')}/logs`;
  }

  start(): void {
    this.#schedule();
  }

  /** Buffer one decision line (a JSON object). Never blocks; drops and counts when full. */
  push(line: string): void {
    // +1: the comma that joins it into the array.
    const size = Buffer.byteLength(line) + 1;
    if (this.#closed || this.#bytes + size > this.#opts.maxBufferBytes) {
      this.#events.dropped(1);
      return;
    }
    this.#lines.push(line);
    this.#sizes.push(size);
    this.#bytes += size;
  }

  get stats(): LogShipperStats {
    return { bufferedBytes: this.#bytes, bufferedEvents: this.#lines.length - this.#acked };
  }

  /** Upload everything buffered now (one attempt per batch); resolves when done or failed. */
  flush(): Promise<void> {
    this.#uploading ??= this.#uploadAll().finally(() => {
      this.#uploading = undefined;
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
    const left = this.stats.bufferedEvents;
    if (left > 0) this.#events.dropped(left);
    this.#lines = [];
    this.#sizes = [];
    this.#head = this.#acked = this.#bytes = 0;
    await this.#agent.destroy();
  }

  #schedule(): void {
    if (this.#closed) return;
    const { minDelayMs, maxDelayMs } = this.#opts;
    const delay = nextDelay(minDelayMs, maxDelayMs, MIN_RETRY_MS, this.#failures);
    this.#timer = setTimeout(() => void this.flush().finally(() => this.#schedule()), delay);
    this.#timer.unref();
  }

  async #uploadAll(): Promise<void> {
    while (this.#head < this.#lines.length) {
      const start = this.#head;
      let end = start;
      let size = 0;
      do {
        size += this.#sizes[end]!;
        end++;
      } while (end < this.#lines.length && size + this.#sizes[end]! <= this.#opts.maxUploadBytes);
      const batch = this.#lines.slice(start, end);
      this.#head = end;
      try {
        await this.#post(batch);
      } catch (err) {
        // Put the batch back at the head: it is retried first, so the order holds.
        this.#head = start;
        this.#failures++;
        this.#events.failed(err instanceof WardenError ? err : new WardenError('AUDIT_SHIP_FAILED', describeThrown(err), { cause: err }));
        return;
      }
      this.#failures = 0;
      this.#acked = end;
      this.#bytes -= size;
      this.#events.shipped(batch.length);
      this.#compact();
    }
  }

  /** Forget acknowledged lines once they are a good share of the array (O(1) amortized). */
  #compact(): void {
    if (this.#acked === this.#lines.length) {
      this.#lines = [];
      this.#sizes = [];
      this.#head = this.#acked = 0;
    } else if (this.#acked > 1024 && this.#acked * 2 > this.#lines.length) {
      this.#lines = this.#lines.slice(this.#acked);
      this.#sizes = this.#sizes.slice(this.#acked);
      this.#head -= this.#acked;
      this.#acked = 0;
    }
  }

  async #post(batch: string[]): Promise<void> {
    const body = await gzip(`[${batch.join(',')}]`);
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
