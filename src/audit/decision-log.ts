// The decision log: one JSON line per request on every path (pino's destination), with OPA's
// decision-log field names where they exist (decision_id, timestamp, path, input, result, bundles, metrics) plus
// Warden's own. Lifecycle events (tasks, approvals, bundle loads) go to the same stream with an
// `event` field. Secrets never reach it: the input has no credentials by construction and lanes
// are logged by name.

import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';
import { WardenError } from '../errors.js';
import { applyMasks, compileMasks, type MaskPath } from './mask.js';

export interface DecisionRecord {
  decision_id: string;
  path: string;
  input?: unknown;
  /** `input` as the policy received it, serialized; reused when nothing is masked. */
  input_json?: string;
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
  /** Called when lines could not be written (disk full, closed pipe). */
  readonly onError?: (err: unknown) => void;
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
  /** Lines of this turn of the event loop, written together in one append when it ends. */
  #pending: string[] = [];
  #scheduled = false;
  readonly #onError: (err: unknown) => void;
  readonly #stream: pino.DestinationStream & { write(s: string): boolean; flushSync?: () => void; end?: () => void };
  readonly #masks: MaskPath[];
  readonly #toStd: boolean;
  readonly #maxBody: number;

  constructor(opts: DecisionLogOptions) {
    this.#toStd = opts.path === 'stdout' || opts.path === 'stderr';
    // The file is opened here, synchronously, so a log that cannot be written stops the start
    // instead of the first request.
    const dest = opts.path === 'stdout' ? 1 : opts.path === 'stderr' ? 2 : openLogFile(opts.path);
    // Synchronous appends: measured cheaper in CPU than sonic-boom's asynchronous writes (8 vs
    // 11 µs a line), no line is ever held in the process (a crash loses none, a slow disk cannot
    // grow the heap), and lines land in the order they were written.
    // Lines of one event-loop turn go out in one write (setImmediate): under load that is one
    // syscall for many requests, and a line waits for nothing but the current turn to end.
    this.#stream = pino.destination({ dest, sync: true });
    this.#onError = opts.onError ?? (() => undefined);
    (this.#stream as unknown as NodeJS.EventEmitter).on('error', (err: unknown) => this.#onError(err));
    this.#masks = compileMasks(opts.mask);
    this.#maxBody = opts.maxBodyBytes;
  }

  #bounded(input: unknown): unknown {
    const req = (input as { request?: { size?: unknown; body?: unknown } } | null)?.request;
    if (!req || typeof req.size !== 'number' || req.size <= this.#maxBody || req.body === null) return input;
    return { ...(input as object), request: { ...req, body: TRUNCATED } };
  }

  /** The input as logged: the evaluated JSON itself unless masking or truncation changes it. */
  #inputJson(input: unknown, json: string | undefined): string {
    const logged = applyMasks(this.#bounded(input), this.#masks);
    return logged === input && json !== undefined ? json : JSON.stringify(logged);
  }

  decision(rec: DecisionRecord): void {
    const { revision, eval_ns, input, input_json, ...rest } = rec;
    const head = JSON.stringify({
      timestamp: new Date().toISOString(),
      type: 'decision',
      ...rest,
      bundles: revision === undefined ? undefined : { warden: { revision } },
      metrics: eval_ns === undefined ? undefined : { timer_rego_eval_ns: eval_ns },
    });
    // The input is the largest field and was serialized once already for the policy: splice it
    // in rather than serialize it again.
    const line = input === undefined ? head : `${head.slice(0, -1)},"input":${this.#inputJson(input, input_json)}}`;
    this.#queue(line);
  }

  /** A lifecycle event: task.created, approval.approved, bundle.loaded, ... */
  event(name: string, fields: Record<string, unknown>): void {
    this.#queue(JSON.stringify({ timestamp: new Date().toISOString(), type: 'event', event: name, ...fields }));
  }

  #queue(line: string): void {
    this.#pending.push(line);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Write every queued line now. */
  flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const lines = this.#pending;
    this.#pending = [];
    try {
      this.#stream.write(`${lines.join('\n')}\n`);
    } catch (err) {
      // A full disk must not take the proxy down; the failure is counted and reported.
      this.#onError(err);
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
