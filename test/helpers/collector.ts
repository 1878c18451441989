// A real decision-log collector on 127.0.0.1 port 0, as OPA's decision-log plugin expects one:
// `POST /logs` with a gzip'd JSON array. It records every event, can refuse uploads (503) and can
// be stopped and started again on the same port (a real outage: connections are refused).

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface TestCollector {
  readonly url: string;
  readonly events: Record<string, any>[];
  /** One entry per accepted upload: the number of events and the request headers. */
  readonly uploads: { count: number; headers: Record<string, unknown> }[];
  /** Answer uploads with this status instead of 204 (e.g. 503), or undefined for normal service. */
  failWith: number | undefined;
  /** Stop listening (connections refused) until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
  /** Resolves once `n` events have arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
}

export async function startCollector(): Promise<TestCollector> {
  let server: Server;
  let port = 0;
  const c: TestCollector = {
    url: '',
    events: [],
    uploads: [],
    failWith: undefined,
    async stop() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
    async start() {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (d: Buffer) => chunks.push(d));
        req.on('end', () => {
          if (req.method !== 'POST' || req.url !== '/logs') {
            res.writeHead(404).end();
            return;
          }
          if (c.failWith !== undefined) {
            res.writeHead(c.failWith).end();
            return;
          }
          const raw = Buffer.concat(chunks);
          const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
          const batch = JSON.parse(text) as Record<string, any>[];
          c.events.push(...batch);
          c.uploads.push({ count: batch.length, headers: { ...req.headers } });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
      port = (server.address() as AddressInfo).port;
      (c as { url: string }).url = `http://127.0.0.1:${port}`;
    },
    close: () => c.stop(),
    async waitFor(n, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (c.events.length < n) {
        if (Date.now() > deadline) throw new Error(`collector got ${c.events.length} of ${n} events`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
  await c.start();
  return c;
}
