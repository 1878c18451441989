// Hot reload: poll the bundle's stat (mtime, size, inode) and reload on change. Polling is used
// rather than fs.watch because bundles are usually replaced by rename (atomic) and fs.watch
// loses the file on rename on Linux. A failed load keeps the last good policy serving.

import { stat } from 'node:fs/promises';
import type { PolicyEngine, PolicySnapshot } from './engine.js';
import { toWardenError, type WardenError } from '../errors.js';

export interface WatcherEvents {
  loaded(snapshot: PolicySnapshot): void;
  failed(err: WardenError): void;
}

export class BundleWatcher {
  readonly #engine: PolicyEngine;
  readonly #source: string;
  readonly #events: WatcherEvents;
  #timer: NodeJS.Timeout | undefined;
  #lastKey = '';
  #busy = false;

  constructor(engine: PolicyEngine, source: string, events: WatcherEvents) {
    this.#engine = engine;
    this.#source = source;
    this.#events = events;
  }

  /** Load now; resolves whether or not the load succeeded (the failure is reported). */
  async reload(): Promise<boolean> {
    this.#lastKey = await this.#key();
    try {
      this.#events.loaded(await this.#engine.load(this.#source));
      return true;
    } catch (err) {
      this.#events.failed(toWardenError(err, 'POLICY_BUNDLE_INVALID'));
      return false;
    }
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.#tick(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const key = await this.#key();
      if (key !== this.#lastKey) await this.reload();
    } finally {
      this.#busy = false;
    }
  }

  async #key(): Promise<string> {
    try {
      const s = await stat(this.#source);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }
}
