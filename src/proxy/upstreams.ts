// One undici Pool per upstream (keep-alive), and the forwarding of one request with the
// response streamed back through undici's `dispatch()` (forward-handler.ts). Measured in bench/:
// undici costs about half the CPU per request of http-proxy on Node 20, and dispatch() with a
// handler of our own less than its `stream()` (bench/HISTORY.md, eighth session).

import type { ServerResponse } from 'node:http';
import type { Transform, Writable } from 'node:stream';
import { Pool } from 'undici';
import { ForwardHandler } from './forward-handler.js';
import type { UpstreamConfig } from '../config/schema.js';
import type { AbortEmitter } from './client-link.js';
import { cleanResponseHeaders } from './headers.js';
import { upstreamError } from './status.js';

interface Target {
  readonly pool: Pool;
  readonly basePath: string;
  readonly timeout: number;
  /** Idle limit of an event-stream response; 0: none. */
  readonly streamIdle: number;
  /** `Host` sent upstream when configured (else undici sends the authority of the URL). */
  readonly host: string | undefined;
}

export interface ForwardRequest {
  readonly upstream: string;
  readonly method: string;
  /** Normalized path after the prefix, plus the canonical query (`?a=1`). */
  readonly pathAndQuery: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
  readonly decisionId: string;
  /**
   * Streaming mode (MCP upstreams): the client leaving cancels the upstream call at any moment
   * (this signal), and a `text/event-stream` answer is not cut by `timeout` (only by
   * `stream_idle_timeout`, when set).
   */
  readonly signal?: AbortSignal | AbortEmitter;
  /** A transform for the answer's body chosen from its headers (content-length is then dropped). */
  readonly rewrite?: (headers: Record<string, string | string[] | undefined>) => Transform | undefined;
}

function isEventStream(headers: Record<string, string | string[] | undefined>): boolean {
  const ct = headers['content-type'];
  const v = (Array.isArray(ct) ? ct[0] : ct) ?? '';
  const semi = v.indexOf(';');
  const type = (semi < 0 ? v : v.slice(0, semi)).trim();
  return type.length === EVENT_STREAM.length && type.toLowerCase() === EVENT_STREAM;
}

const EVENT_STREAM = 'text/event-stream';

/**
 * Destroy `stream` once it has been idle for `ms` (0: never). The caller clears the returned timer
 * when the call settles (no `close` listener, no bound copy of `write`: this runs on every MCP call).
 */
function idleLimit(stream: Writable, ms: number): NodeJS.Timeout | undefined {
  if (ms <= 0) return undefined;
  const timer = setTimeout(() => stream.destroy(new Error('stream idle')), ms).unref();
  const write = stream.write;
  stream.write = function (this: Writable, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    timer.refresh();
    return (write as (c: unknown, e?: unknown, f?: unknown) => boolean).call(this, chunk, encoding, cb);
  } as typeof stream.write;
  return timer;
}

/** `abort` of an AbortSignal (EventTarget) or of the client link (emitter), heard once. */
function listen(signal: AbortSignal | AbortEmitter, fn: () => void): void {
  if ('addEventListener' in signal) signal.addEventListener('abort', fn, { once: true });
  else signal.once('abort', fn);
}

function unlisten(signal: AbortSignal | AbortEmitter, fn: () => void): void {
  if ('removeEventListener' in signal) signal.removeEventListener('abort', fn);
  else signal.removeListener('abort', fn);
}

export class Upstreams {
  readonly #targets = new Map<string, Target>();

  constructor(upstreams: Readonly<Record<string, UpstreamConfig>>) {
    for (const [name, up] of Object.entries(upstreams)) {
      const url = new URL(up.url);
      const pool = new Pool(url.origin, {
        connections: up.connections,
        connect: { timeout: up.connect_timeout },
        headersTimeout: up.timeout,
        bodyTimeout: up.timeout,
        keepAliveTimeout: 30_000,
      });
      this.#targets.set(name, { pool, basePath: url.pathname.replace(/\/+$/, ''), timeout: up.timeout, streamIdle: up.stream_idle_timeout, host: up.host });
    }
  }

  /**
   * Forward and stream the answer into `res` (forward-handler.ts). Resolves with the upstream
   * status once the answer is finished, or cut; rejects with a coded error when no answer started
   * (the caller answers 502/504). A failure after the headers went out destroys `res`, since the
   * status can no longer change. An agent that leaves ends the call: at once in streaming mode
   * (`signal`) or once the answer has started (the response's `close`), and otherwise when the
   * upstream's headers arrive (as with undici's `stream()` before).
   */
  forward(req: ForwardRequest, res: ServerResponse): Promise<number> {
    const target = this.#targets.get(req.upstream);
    if (!target) return Promise.reject(upstreamError(new Error('unknown upstream'), req.upstream));
    return new Promise<number>((resolve, reject) => {
      let idle: NodeJS.Timeout | undefined;
      const { signal } = req;
      const onAbort = (): void => handler.cancel(new Error('client gone'));
      const done = (): void => {
        clearTimeout(idle);
        if (signal) unlisten(signal, onAbort);
      };
      const handler = new ForwardHandler(res, {
        start: (statusCode, raw) => {
          const out = cleanResponseHeaders(raw);
          out['warden-decision-id'] = req.decisionId;
          const transform = req.rewrite?.(raw);
          if (transform) delete out['content-length'];
          res.writeHead(statusCode, out);
          const eventStream = isEventStream(raw);
          // Headers out at once only for an event stream, which may stay silent for long after
          // them; any other answer's headers leave with its first body bytes, in one write
          // (flushing costs a syscall of its own on every request).
          if (eventStream) res.flushHeaders();
          if (signal) idle = idleLimit(res, eventStream ? target.streamIdle : target.timeout);
          if (!transform) return res;
          transform.pipe(res);
          transform.once('error', () => res.destroy());
          return transform;
        },
        resolve: (status) => {
          done();
          resolve(status);
        },
        reject: (err) => {
          done();
          reject(upstreamError(err, req.upstream));
        },
      });
      if (signal) {
        if (signal.aborted) handler.cancel(new Error('client gone'));
        else listen(signal, onAbort);
      }
      target.pool.dispatch(
        {
          path: target.basePath + req.pathAndQuery,
          method: req.method as 'GET',
          headers: target.host === undefined ? req.headers : { ...req.headers, host: target.host },
          body: req.body.length > 0 ? req.body : null,
          // In streaming mode undici's body timeout is off; the idle limits above replace it.
          ...(signal && { bodyTimeout: 0 }),
        },
        handler,
      );
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.#targets.values()].map((t) => t.pool.close().catch(() => undefined)));
  }
}
