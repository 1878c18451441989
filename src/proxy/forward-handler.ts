// The undici dispatch handler of one forwarded request: the upstream's answer is written straight
// into the agent's response. undici's `stream()` did the same through a StreamHandler that is an
// AsyncResource, runs the factory and callback in async scopes, and watches the response with
// `finished()` (eight listeners, and a `destroy()` of every finished response); this handler
// listens for `close` once, and for `drain` only when a write has to wait
// (bench/HISTORY.md, eighth session).

import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { util, type Dispatcher } from 'undici';

/** What the handler is given: how to answer from the upstream's headers, and how to settle. */
export interface ForwardSink {
  /**
   * Writes the answer's status and headers into `res` and returns where its body goes (`res`, or a
   * transform piped into it). Throwing here fails the call as a failure after the status.
   */
  start(statusCode: number, headers: Record<string, string | string[] | undefined>): Writable;
  /** The call ended with this status (also when the agent left or the body failed after the headers). */
  resolve(status: number): void;
  /** The call failed before any answer started. */
  reject(err: unknown): void;
}

export class ForwardHandler implements Dispatcher.DispatchHandler {
  #status = 0;
  #body: Writable | undefined;
  #abort: ((err?: Error) => void) | undefined;
  /** Why the call was cancelled before undici connected it. */
  #reason: Error | undefined;
  #resume: (() => void) | undefined;
  #waitsForDrain = false;
  #settled = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly sink: ForwardSink,
  ) {}

  /** Cancels the call (the agent left in streaming mode); before the connection, once it is made. */
  cancel(err: Error): void {
    if (this.#abort) this.#abort(err);
    else this.#reason = err;
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.#reason) abort(this.#reason);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx interim answers are not passed on (as undici's stream() and request() do).
    if (statusCode < 200) return true;
    this.#status = statusCode;
    const { res } = this;
    // The agent left while the upstream was answering: nothing can be written any more.
    if (res.destroyed) {
      this.#abort?.(new Error('client gone'));
      this.#settle(statusCode);
      return false;
    }
    this.#body = this.sink.start(statusCode, util.parseHeaders(rawHeaders) as Record<string, string | string[] | undefined>);
    this.#resume = resume;
    // `close` comes once the answer is finished, or when the agent went away before that.
    res.on('close', this.#onClose);
    return true;
  }

  readonly #onClose = (): void => {
    if (!this.res.writableFinished) this.#abort?.(new Error('client gone'));
    this.#settle(this.#status);
  };

  onData(chunk: Buffer): boolean {
    const body = this.#body;
    if (!body || body.destroyed) return false;
    if (body.write(chunk)) return true;
    if (!this.#waitsForDrain) {
      this.#waitsForDrain = true;
      body.on('drain', this.#resume!);
    }
    return false;
  }

  onComplete(): void {
    this.#body?.end();
  }

  onError(err: Error): void {
    if (this.#status === 0 && !this.res.headersSent) {
      if (!this.#settled) {
        this.#settled = true;
        this.sink.reject(err);
      }
      return;
    }
    // The status went out already: the answer can only be cut.
    this.#body?.destroy();
    this.res.destroy();
    this.#settle(this.#status);
  }

  #settle(status: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.sink.resolve(status);
  }
}
