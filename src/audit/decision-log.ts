// The decision log: one pino JSON line per request on every path, with OPA's decision-log field
// names where they exist (decision_id, timestamp, path, input, result, bundles, metrics) plus
// Warden's own. Lifecycle events (tasks, approvals, bundle loads) go to the same stream with an
// `event` field. Secrets never reach it: the input has no credentials by construction and lanes
// are logged by name.

import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { WardenError } from '../errors.js';
import { applyMasks, compileMasks, type MaskPath } from './mask.js';

export interface DecisionRecord {
  decision_id: string;
  path: string;
  input?: unknown;
  result?: unknown;
  revision?: string;
  outcome: 'allow' | 'deny' | 'step_up' | 'error' | 'client_abort' | 'dry_run';
  error?: string;
  agent?: string;
  task?: string;
  stage?: string;
  lane?: string;
  approval?: string;
  upstream?: string;
  method?: string;
  status: number;
  upstream_status?: number;
  duration_ms: number;
  eval_ns?: number;
}

export interface DecisionLogOptions {
  readonly path: string;
  readonly mask: readonly string[];
  /** Larger request bodies are logged as TRUNCATED: a refused 3 MiB input must not cost 3 MiB of log. */
  readonly maxBodyBytes: number;
}

export const TRUNCATED = '**TRUNCATED**';

function openLogFile(path: string): number {
  try {
    mkdirSync(dirname(path), { recursive: true });
    return openSync(path, 'a', 0o640);
  } catch (err) {
    throw new WardenError('CONFIG_INVALID', `decision_log.path: cannot open ${path} for appending`, { cause: err });
  }
}

export class DecisionLog {
  readonly #logger: Logger;
  readonly #stream: pino.DestinationStream & { flushSync?: () => void; end?: () => void };
  readonly #masks: MaskPath[];
  readonly #toStd: boolean;
  readonly #maxBody: number;

  constructor(opts: DecisionLogOptions) {
    this.#toStd = opts.path === 'stdout' || opts.path === 'stderr';
    // The file is opened synchronously so the stream is ready at once: flushSync() can always
    // drain it, and a start-up without a writable log fails here rather than on the first request.
    const dest = opts.path === 'stdout' ? 1 : opts.path === 'stderr' ? 2 : openLogFile(opts.path);
    // Asynchronous writes keep the request path free of blocking syscalls; with minLength 0 each
    // line goes out as soon as the previous write completes, so a crash loses at most the lines of
    // one in-flight write. close() flushes synchronously.
    this.#stream = pino.destination({ dest, sync: false, minLength: 0 });
    this.#logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' }, this.#stream);
    this.#masks = compileMasks(opts.mask);
    this.#maxBody = opts.maxBodyBytes;
  }

  #bounded(input: unknown): unknown {
    const req = (input as { request?: { size?: unknown; body?: unknown } } | null)?.request;
    if (!req || typeof req.size !== 'number' || req.size <= this.#maxBody || req.body === null) return input;
    return { ...(input as object), request: { ...req, body: TRUNCATED } };
  }

  decision(rec: DecisionRecord): void {
    const { revision, eval_ns, input, ...rest } = rec;
    this.#logger.info({
      ...rest,
      type: 'decision',
      input: input === undefined ? undefined : applyMasks(this.#bounded(input), this.#masks),
      bundles: revision === undefined ? undefined : { warden: { revision } },
      metrics: eval_ns === undefined ? undefined : { timer_rego_eval_ns: eval_ns },
    });
  }

  /** A lifecycle event: task.created, approval.approved, bundle.loaded, ... */
  event(name: string, fields: Record<string, unknown>): void {
    this.#logger.info({ ...fields, type: 'event', event: name });
  }

  flush(): void {
    try {
      this.#stream.flushSync?.();
    } catch {
      // sonic-boom refuses flushSync while an asynchronous write is under way; that write
      // completes on its own and close() ends the stream after it.
    }
  }

  /**
   * Resolves once every line logged so far is in the file. QUIRK(sonic-boom): flushSync() writes
   * the queued lines but not the one an asynchronous write is still carrying, so wait for that
   * write too (`_writing`).
   */
  async settled(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      this.flush();
      if (!(this.#stream as unknown as { _writing?: boolean })._writing) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Flush and close; resolves once every line is written. */
  close(): Promise<void> {
    this.flush();
    if (this.#toStd) return Promise.resolve();
    const stream = this.#stream as unknown as NodeJS.WritableStream;
    return new Promise((resolve) => {
      stream.once('close', () => resolve());
      stream.once('error', () => resolve());
      this.#stream.end?.();
    });
  }
}
