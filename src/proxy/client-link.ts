// Whether the agent is still there. An AbortController per request, and undici's listener on its
// signal, cost about 4 % of the request path (bench/RESULTS.md profile); most requests never
// need one, so the signal is made only when something asks for it (a step-up hold), and a
// streamed MCP call hands undici the link itself as its abort emitter.

import type { ServerResponse } from 'node:http';

/**
 * An emitter of `abort`, which undici takes as a request's `signal` (as it takes an EventEmitter):
 * the link itself, so a streamed MCP call is cancelled without an AbortController per request.
 */
export interface AbortEmitter {
  readonly aborted: boolean;
  on(event: 'abort', fn: () => void): unknown;
  once(event: 'abort', fn: () => void): unknown;
  removeListener(event: 'abort', fn: () => void): unknown;
}

export class ClientLink implements AbortEmitter {
  aborted = false;
  #controller: AbortController | undefined;
  #listeners: (() => void)[] | undefined;

  constructor(res: ServerResponse) {
    // `close` is emitted once: `on` spares the wrapper `once` makes per request.
    res.on('close', () => {
      if (!res.writableFinished) this.#abort();
    });
  }

  /** An AbortSignal that fires when the agent goes away. */
  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    if (this.aborted) this.#controller.abort();
    return this.#controller.signal;
  }

  /** Call `fn` when the agent goes away; returns the function that cancels this. */
  onAbort(fn: () => void): () => void {
    this.once('abort', fn);
    return () => this.removeListener('abort', fn);
  }

  /** Listeners are called once, when the agent goes away (`on` and `once` alike). */
  on(_event: 'abort', fn: () => void): this {
    (this.#listeners ??= []).push(fn);
    return this;
  }

  once(event: 'abort', fn: () => void): this {
    return this.on(event, fn);
  }

  removeListener(_event: 'abort', fn: () => void): this {
    const i = this.#listeners?.indexOf(fn) ?? -1;
    if (i !== -1) this.#listeners!.splice(i, 1);
    return this;
  }

  #abort(): void {
    this.aborted = true;
    this.#controller?.abort();
    for (const fn of this.#listeners?.splice(0) ?? []) fn();
  }
}
