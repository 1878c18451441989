// Whether the agent is still there. An AbortController per request, and undici's listener on its
// signal, cost about 4 % of the request path (bench/RESULTS.md profile); most requests never
// need one, so the signal is made only when something asks for it (a step-up hold).

import type { ServerResponse } from 'node:http';

export class ClientLink {
  aborted = false;
  #controller: AbortController | undefined;
  #listeners: (() => void)[] | undefined;

  constructor(res: ServerResponse) {
    res.once('close', () => {
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
    (this.#listeners ??= []).push(fn);
    return () => {
      const i = this.#listeners!.indexOf(fn);
      if (i !== -1) this.#listeners!.splice(i, 1);
    };
  }

  #abort(): void {
    this.aborted = true;
    this.#controller?.abort();
    for (const fn of this.#listeners?.splice(0) ?? []) fn();
  }
}
