// One undici Pool per upstream (keep-alive), and the forwarding of one request with the
// response streamed back. Measured in bench/: undici `stream()` costs about half the CPU per
// request of http-proxy on Node 20.

import type { ServerResponse } from 'node:http';
import { Pool } from 'undici';
import type { UpstreamConfig } from '../config/schema.js';
import { cleanResponseHeaders } from './headers.js';
import { upstreamError } from './status.js';

interface Target {
  readonly pool: Pool;
  readonly basePath: string;
  readonly timeout: number;
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
      this.#targets.set(name, { pool, basePath: url.pathname.replace(/\/+$/, ''), timeout: up.timeout, host: up.host });
    }
  }

  /**
   * Forward and stream the answer into `res`. No abort signal is passed (its listener costs on
   * every request): an agent that leaves has destroyed `res`, which ends the stream. Resolves with the upstream status; rejects with a
   * coded error when no answer started (the caller answers 502/504). A failure after the
   * headers went out destroys `res`, since the status can no longer change.
   */
  async forward(req: ForwardRequest, res: ServerResponse): Promise<number> {
    const target = this.#targets.get(req.upstream);
    if (!target) throw upstreamError(new Error('unknown upstream'), req.upstream);
    let status = 0;
    try {
      await target.pool.stream(
        {
          path: target.basePath + req.pathAndQuery,
          method: req.method as 'GET',
          headers: target.host === undefined ? req.headers : { ...req.headers, host: target.host },
          body: req.body.length > 0 ? req.body : null,
        },
        ({ statusCode, headers }) => {
          status = statusCode;
          const out = cleanResponseHeaders(headers as Record<string, string | string[] | undefined>);
          out['warden-decision-id'] = req.decisionId;
          res.writeHead(statusCode, out);
          return res;
        },
      );
    } catch (err) {
      if (status !== 0 || res.headersSent) {
        res.destroy();
        return status;
      }
      throw upstreamError(err, req.upstream);
    }
    return status;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#targets.values()].map((t) => t.pool.close().catch(() => undefined)));
  }
}
