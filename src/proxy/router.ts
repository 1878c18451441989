// Upstream by path prefix. The prefix is matched on the raw path's leading segments (so an
// encoded or dotted prefix cannot select an upstream); the rest is normalized by path.ts.

import type { UpstreamConfig } from '../config/schema.js';

export interface Route {
  readonly name: string;
  readonly upstream: UpstreamConfig;
  /** The raw path after the prefix (`/repos/x`), still to be normalized. */
  readonly rest: string;
}

export class Router {
  // Longest prefix first, so `/api/v2` wins over `/api`.
  readonly #routes: { name: string; prefix: string; upstream: UpstreamConfig }[];

  constructor(upstreams: Readonly<Record<string, UpstreamConfig>>) {
    this.#routes = Object.entries(upstreams)
      .map(([name, upstream]) => ({ name, prefix: upstream.prefix, upstream }))
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  match(rawPath: string): Route | undefined {
    for (const r of this.#routes) {
      if (rawPath === r.prefix || rawPath.startsWith(`${r.prefix}/`)) {
        return { name: r.name, upstream: r.upstream, rest: rawPath.slice(r.prefix.length) };
      }
    }
    return undefined;
  }
}
