// The connection of one process to the fleet's Redis: a command connection, a subscriber
// connection for the store's pub/sub channel, and the freshness of what this process knows.
// A sidecar answers the request path from caches kept fresh by pub/sub; when it cannot confirm
// that its subscription is alive (a PING answered on the subscriber connection) for longer than
// `max_staleness`, what it cannot confirm is refused with STORE_UNAVAILABLE (fail closed), and
// on every reconnect the caches are dropped, since messages sent meanwhile were missed.

import { Redis } from 'ioredis';
import { WardenError } from '../../errors.js';

export interface RedisLinkOptions {
  readonly url: string;
  readonly prefix: string;
  /** ms: how long cached state may go unconfirmed before it is refused. */
  readonly maxStalenessMs: number;
  readonly now?: () => number;
}

export type StoreMessage =
  | { readonly t: 'task'; readonly id: string }
  | { readonly t: 'approval'; readonly id: string; readonly result: 'approved' | 'denied' | 'expired' }
  | { readonly t: 'agent'; readonly id: string }
  | { readonly t: 'keys' }
  | { readonly t: 'tool'; readonly upstream: string; readonly tool: string };

type Listener = (m: StoreMessage) => void;

/** A failure of a command (Redis down, timeout) as STORE_UNAVAILABLE (a coded error passes as it is). */
export function asStoreUnavailable(err: unknown): WardenError {
  return err instanceof WardenError ? err : new WardenError('STORE_UNAVAILABLE', undefined, { cause: err });
}

export class RedisLink {
  readonly cmd: Redis;
  /**
   * The request path's connection (call counters read and counted, one script call per turn of the
   * event loop: usage-batch.ts). Its commands keep their order, so a call counted here is seen by
   * the next read here.
   */
  readonly fast: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #maxStalenessMs: number;
  readonly #now: () => number;
  readonly #listeners = new Set<Listener>();
  readonly #resetters = new Set<() => void>();
  readonly #ping: NodeJS.Timeout;
  #confirmedAt = 0;
  #subscribed = false;
  #closed = false;

  private constructor(opts: RedisLinkOptions) {
    this.#prefix = opts.prefix;
    this.#channel = `${opts.prefix}events`;
    this.#maxStalenessMs = opts.maxStalenessMs;
    this.#now = opts.now ?? Date.now;
    const common = {
      // Fail fast while disconnected: the request path answers 503 instead of queueing.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(50 * times, 500),
      lazyConnect: true,
    };
    this.cmd = new Redis(opts.url, common);
    this.fast = new Redis(opts.url, common);
    this.#sub = new Redis(opts.url, { ...common, enableOfflineQueue: true });
    this.cmd.on('error', () => undefined); // reported through freshness and STORE_UNAVAILABLE
    this.fast.on('error', () => undefined);
    this.#sub.on('error', () => undefined);
    this.#sub.on('message', (_ch: string, raw: string) => {
      this.#confirmedAt = this.#now();
      let m: StoreMessage;
      try {
        m = JSON.parse(raw) as StoreMessage;
      } catch {
        return;
      }
      for (const l of this.#listeners) l(m);
    });
    this.#sub.on('close', () => {
      this.#subscribed = false;
    });
    this.#sub.on('ready', () => {
      // Whatever was published while this connection was down is lost: forget cached state.
      for (const r of this.#resetters) r();
      void this.#sub.subscribe(this.#channel).then(() => {
        this.#subscribed = true;
        this.#confirmedAt = this.#now();
      }, () => undefined);
    });
    const every = Math.max(50, Math.floor(this.#maxStalenessMs / 4));
    this.#ping = setInterval(() => {
      // A PING answered on the subscriber connection confirms that the subscription is alive.
      if (this.#subscribed) {
        this.#sub.ping().then(() => {
          if (this.#subscribed) this.#confirmedAt = this.#now();
        }, () => undefined);
      }
    }, every);
    this.#ping.unref();
  }

  static async connect(opts: RedisLinkOptions): Promise<RedisLink> {
    const link = new RedisLink(opts);
    await Promise.all([link.cmd.connect(), link.fast.connect(), link.#sub.connect()]);
    const until = Date.now() + 5_000;
    while (!link.#subscribed) {
      if (Date.now() > until) throw new Error('could not subscribe to the store channel');
      await new Promise((r) => setTimeout(r, 10));
    }
    return link;
  }

  key(...parts: string[]): string {
    return this.#prefix + parts.join(':');
  }

  /**
   * True while cached state is confirmed fresh and the commands can reach Redis: the three
   * connections reconnect each on its own, and a subscription back before the command connections
   * would let a request through the freshness check only to fail on its first command.
   */
  fresh(): boolean {
    return this.#subscribed && this.cmd.status === 'ready' && this.fast.status === 'ready' && this.#now() - this.#confirmedAt <= this.#maxStalenessMs;
  }

  /** Throws STORE_UNAVAILABLE unless cached state is confirmed fresh. */
  assertFresh(): void {
    if (!this.fresh()) throw new WardenError('STORE_UNAVAILABLE');
  }

  onMessage(l: Listener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** Called on every (re)subscription: drop what may have been missed. */
  onReset(r: () => void): void {
    this.#resetters.add(r);
  }

  async publish(m: StoreMessage): Promise<void> {
    await this.run(() => this.cmd.publish(this.#channel, JSON.stringify(m)));
  }

  /** A command whose failure (Redis down, timeout) is STORE_UNAVAILABLE. */
  async run<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw asStoreUnavailable(err);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#ping);
    this.#listeners.clear();
    // QUIT goes through the same socket as the request path's last batch (flushed by the task
    // store's close), behind it: no count is lost.
    await Promise.allSettled([this.cmd.quit(), this.fast.quit(), this.#sub.quit()]);
    this.cmd.disconnect();
    this.fast.disconnect();
    this.#sub.disconnect();
  }
}
