// A real decision-log collector on 127.0.0.1 port 0, as OPA's decision-log plugin expects one:
// `POST /logs` with a gzip'd JSON array. It records every event, can refuse uploads (503) and can
// be stopped and started again on the same port (a real outage: connections are refused).

import { restartableServer } from './restartable-server.js';
import { untilWithin } from './wait.js';
import { gunzipSync } from 'node:zlib';

export interface TestCollector {
  readonly url: string;
  readonly events: Record<string, any>[];
  /** One entry per accepted upload: the number of events and the request headers. */
  readonly uploads: { count: number; headers: Record<string, unknown> }[];
  /** Uploads answered with `failWith` so far. */
  readonly refused: number;
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
  const events: Record<string, any>[] = [];
  const uploads: TestCollector['uploads'] = [];
  const state = { failWith: undefined as number | undefined, refused: 0 };
  const server = restartableServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/logs') {
        res.writeHead(404).end();
        return;
      }
      if (state.failWith !== undefined) {
        state.refused++;
        res.writeHead(state.failWith).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      const batch = JSON.parse(text) as Record<string, any>[];
      events.push(...batch);
      uploads.push({ count: batch.length, headers: { ...req.headers } });
      res.writeHead(204).end();
    });
  });
  const c: TestCollector = {
    get url() {
      return server.url;
    },
    events,
    uploads,
    get refused() {
      return state.refused;
    },
    get failWith() {
      return state.failWith;
    },
    set failWith(status) {
      state.failWith = status;
    },
    stop: () => server.stop(),
    start: () => server.start(),
    close: () => server.stop(),
    waitFor: (n, timeoutMs = 15_000) => untilWithin(() => events.length >= n, timeoutMs, () => `collector got ${events.length} of ${n} events`),
  };
  await c.start();
  return c;
}
