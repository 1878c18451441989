// OPA's bundle protocol: `GET <url>/<resource>` with `If-None-Match: <etag>`; a 304 keeps the
// live policy without a reload; a 200 is verified and loaded, and only once it is live it is
// persisted and its ETag remembered. Polls are spaced by a random delay between min_delay and
// max_delay; failures are retried with backoff (capped at max_delay). Whatever fails — the
// server, the download, the signature, the policy — the last good bundle keeps serving.

import { Buffer } from 'node:buffer';
import { Agent, request, type Dispatcher } from 'undici';
import { WardenError, describeThrown, toWardenError } from '../errors.js';
import { bearerHeader, nextDelay } from '../service/backoff.js';
import type { BundleStore } from './bundle-store.js';
import type { PolicyEngine, PolicySnapshot } from './engine.js';

export interface BundleServiceOptions {
  readonly url: string;
  readonly resource: string;
  readonly token?: () => string;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Time allowed for one download. */
  readonly timeoutMs: number;
  /** Largest archive accepted. */
  readonly maxBytes: number;
}

export interface BundleServiceEvents {
  loaded(snapshot: PolicySnapshot, from: 'service' | 'persisted'): void;
  /** A download or activation failed; the live policy (if any) keeps serving. */
  failed(err: WardenError): void;
  /** One request finished: `ok` (new bundle loaded), `not_modified` (304) or `error`. */
  fetched(result: 'ok' | 'not_modified' | 'error'): void;
}

export interface BundleServiceStatus {
  readonly revision: string | undefined;
  readonly etag: string | undefined;
  readonly last_successful_request: string | undefined;
  readonly last_successful_activation: string | undefined;
  readonly last_failed_request: string | undefined;
  readonly last_error: string | undefined;
}

/** First retry after a failure (OPA's minRetryDelay). */
const MIN_RETRY_MS = 100;

export class BundleService {
  readonly #engine: PolicyEngine;
  readonly #opts: BundleServiceOptions;
  readonly #store: BundleStore;
  readonly #events: BundleServiceEvents;
  readonly #target: string;
  readonly #agent: Dispatcher = new Agent({ connections: 1, pipelining: 0 });
  #etag: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<boolean> | undefined;
  #abort = new AbortController();
  #failures = 0;
  #stopped = false;
  #lastOk: Date | undefined;
  #lastActivation: Date | undefined;
  #lastFailed: Date | undefined;
  #lastError: string | undefined;

  constructor(engine: PolicyEngine, opts: BundleServiceOptions, store: BundleStore, events: BundleServiceEvents) {
    this.#engine = engine;
    this.#opts = opts;
    this.#store = store;
    this.#events = events;
    this.#target = `${opts.url.replace(/\/+$/, '')}/${opts.resource.replace(/^\/+/, '')}`;
  }

  /**
   * Serve the persisted copy (if any), then download once, then keep polling. Resolves after the
   * first download attempt, whatever its outcome.
   */
  async start(): Promise<void> {
    const persisted = this.#store.read();
    if (persisted) {
      try {
        const snap = await this.#engine.loadArchive(this.#store.archivePath, persisted.archive);
        this.#etag = persisted.etag;
        this.#lastActivation = new Date();
        this.#events.loaded(snap, 'persisted');
      } catch (err) {
        this.#events.failed(toWardenError(err, 'POLICY_BUNDLE_INVALID'));
      }
    }
    await this.poll();
    this.#schedule();
  }

  /** Download now (SIGHUP, tests); resolves true when the request succeeded (200 loaded, or 304). */
  poll(): Promise<boolean> {
    this.#inflight ??= this.#download().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    return this.#agent.close();
  }

  status(): BundleServiceStatus {
    return {
      revision: this.#engine.revision,
      etag: this.#etag,
      last_successful_request: this.#lastOk?.toISOString(),
      last_successful_activation: this.#lastActivation?.toISOString(),
      last_failed_request: this.#lastFailed?.toISOString(),
      last_error: this.#lastError,
    };
  }

  /** Timestamps for the metrics, in ms since the epoch (undefined: never). */
  get lastSuccessMs(): number | undefined {
    return this.#lastOk?.getTime();
  }

  get lastFailureMs(): number | undefined {
    return this.#lastFailed?.getTime();
  }

  #schedule(): void {
    if (this.#stopped) return;
    const { minDelayMs, maxDelayMs } = this.#opts;
    const delay = nextDelay(minDelayMs, maxDelayMs, MIN_RETRY_MS, this.#failures);
    this.#timer = setTimeout(() => void this.poll().finally(() => this.#schedule()), delay);
    this.#timer.unref();
  }

  async #download(): Promise<boolean> {
    try {
      const result = await this.#fetchAndLoad();
      this.#failures = 0;
      this.#lastOk = new Date();
      this.#events.fetched(result);
      return true;
    } catch (err) {
      if (this.#stopped) return false;
      const e = toWardenError(err, 'POLICY_BUNDLE_FETCH_FAILED');
      this.#failures++;
      this.#lastFailed = new Date();
      this.#lastError = e.code;
      this.#events.fetched('error');
      this.#events.failed(e);
      return false;
    }
  }

  async #fetchAndLoad(): Promise<'ok' | 'not_modified'> {
    const { timeoutMs, maxBytes } = this.#opts;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.#target, {
        dispatcher: this.#agent,
        method: 'GET',
        headers: { accept: 'application/gzip, application/octet-stream', ...(this.#etag && { 'if-none-match': this.#etag }), ...bearerHeader(this.#opts.token) },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: this.#abort.signal,
      });
    } catch (err) {
      throw new WardenError('POLICY_BUNDLE_FETCH_FAILED', `${this.#opts.url}: ${describeThrown(err)}`, { cause: err });
    }
    if (res.statusCode === 304) {
      await res.body.dump();
      return 'not_modified';
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new WardenError('POLICY_BUNDLE_FETCH_FAILED', `${this.#opts.url}: HTTP ${res.statusCode}`);
    }
    const archive = await readLimited(res.body, maxBytes, this.#opts.url);
    const etagHeader = res.headers.etag;
    const etag = typeof etagHeader === 'string' && etagHeader !== '' ? etagHeader : undefined;
    const snap = await this.#engine.loadArchive(this.#target, archive);
    this.#etag = etag;
    this.#lastActivation = new Date();
    this.#events.loaded(snap, 'service');
    try {
      this.#store.write(archive, etag, snap.revision);
    } catch (err) {
      // Serving goes on; only a restart during an outage would miss this copy.
      this.#events.failed(new WardenError('POLICY_BUNDLE_FETCH_FAILED', `cannot persist the bundle: ${describeThrown(err)}`, { cause: err }));
    }
    return 'ok';
  }
}

async function readLimited(body: Dispatcher.ResponseData['body'], maxBytes: number, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        body.destroy();
        throw new WardenError('POLICY_BUNDLE_FETCH_FAILED', `${url}: the bundle exceeds ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    throw toWardenError(err, 'POLICY_BUNDLE_FETCH_FAILED');
  }
  return Buffer.concat(chunks);
}
