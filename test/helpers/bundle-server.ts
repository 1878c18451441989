// A real OPA bundle server on 127.0.0.1 port 0: serves one archive at `/<resource>` with a strong
// ETag (its SHA-256), answers 304 to a matching If-None-Match, records every request, can demand
// a bearer token, and can be stopped and started on the same port (connections refused meanwhile).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { restartableServer } from './restartable-server.js';
import { untilWithin } from './wait.js';

export interface BundleRequest {
  url: string;
  ifNoneMatch: string | undefined;
  authorization: string | undefined;
  status: number;
}

export interface TestBundleServer {
  readonly url: string;
  readonly requests: BundleRequest[];
  /** Serve this archive (a file path) from now on. */
  serve(archive: string): void;
  /** Bearer token the server demands (401 otherwise), or undefined. */
  token: string | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
  /** Resolves once `pred` holds for the recorded requests (rejects after `timeoutMs`). */
  waitFor(pred: (reqs: BundleRequest[]) => boolean, timeoutMs?: number): Promise<void>;
}

export const RESOURCE = 'bundles/warden.tar.gz';

export async function startBundleServer(initial?: string): Promise<TestBundleServer> {
  let body: Buffer | undefined;
  let etag = '';
  const requests: BundleRequest[] = [];
  const state = { token: undefined as string | undefined };
  const server = restartableServer((req, res) => {
    const rec: BundleRequest = { url: req.url ?? '', ifNoneMatch: req.headers['if-none-match'], authorization: req.headers.authorization, status: 200 };
    requests.push(rec);
    if (state.token !== undefined && req.headers.authorization !== `Bearer ${state.token}`) rec.status = 401;
    else if (req.url !== `/${RESOURCE}` || !body) rec.status = 404;
    else if (req.headers['if-none-match'] === etag) rec.status = 304;
    if (rec.status !== 200) {
      res.writeHead(rec.status, rec.status === 304 ? { etag } : {}).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip', etag }).end(body);
  });
  const s: TestBundleServer = {
    get url() {
      return server.url;
    },
    requests,
    get token() {
      return state.token;
    },
    set token(t) {
      state.token = t;
    },
    serve(archive) {
      body = readFileSync(archive);
      etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    },
    stop: () => server.stop(),
    start: () => server.start(),
    close: () => server.stop(),
    waitFor: (pred, timeoutMs = 15_000) => untilWithin(() => pred(requests), timeoutMs, () => `bundle server: condition not met after ${requests.length} requests`),
  };
  if (initial) s.serve(initial);
  await s.start();
  return s;
}
