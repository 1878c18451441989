// The decision log: one pino JSON line per request on every path, with OPA's decision-log field
// names where they exist (decision_id, timestamp, path, input, result, bundles, metrics) plus
// Warden's own. Lifecycle events (tasks, approvals, bundle loads) go to the same stream with an
// `event` field. Secrets never reach it: the input has no credentials by construction and lanes
// are logged by name.

import pino, { type Logger } from 'pino';
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
}

export class DecisionLog {
  readonly #logger: Logger;
  readonly #stream: pino.DestinationStream & { flushSync?: () => void; end?: () => void };
  readonly #masks: MaskPath[];
  readonly #toStd: boolean;

  constructor(opts: DecisionLogOptions) {
    this.#toStd = opts.path === 'stdout' || opts.path === 'stderr';
    const dest = opts.path === 'stdout' ? 1 : opts.path === 'stderr' ? 2 : opts.path;
    // Asynchronous writes keep the request path free of blocking syscalls; with minLength 0 each
    // line goes out as soon as the previous write completes, so a crash loses at most the lines of
    // one in-flight write. close() flushes synchronously.
    this.#stream = pino.destination({ dest, sync: false, minLength: 0, mkdir: true });
    this.#logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' }, this.#stream);
    this.#masks = compileMasks(opts.mask);
  }

  decision(rec: DecisionRecord): void {
    const { revision, eval_ns, input, ...rest } = rec;
    this.#logger.info({
      ...rest,
      type: 'decision',
      input: input === undefined ? undefined : applyMasks(input, this.#masks),
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
      // The stream may not be ready yet (nothing written); nothing is buffered then.
    }
  }

  close(): void {
    this.flush();
    if (!this.#toStd) this.#stream.end?.();
  }
}
