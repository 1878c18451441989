// A real OPA bundle server on 127.0.0.1 port 0: serves one archive at `/<resource>` with a strong
// ETag (its SHA-256), answers 304 to a matching If-None-Match, records every request, can demand
// a bearer token, and can be stopped and started on the same port (connections refused meanwhile).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  let server: Server;
  let port = 0;
  let body: Buffer | undefined;
  let etag = '';
  const s: TestBundleServer = {
    url: '',
    requests: [],
    token: undefined,
    serve(archive) {
      body = readFileSync(archive);
      etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    },
    async stop() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
    async start() {
      server = createServer((req, res) => {
        const rec: BundleRequest = { url: req.url ?? '', ifNoneMatch: req.headers['if-none-match'], authorization: req.headers.authorization, status: 200 };
        s.requests.push(rec);
        if (s.token !== undefined && req.headers.authorization !== `Bearer ${s.token}`) rec.status = 401;
        else if (req.url !== `/${RESOURCE}` || !body) rec.status = 404;
        else if (req.headers['if-none-match'] === etag) rec.status = 304;
        if (rec.status !== 200) {
          res.writeHead(rec.status, rec.status === 304 ? { etag } : {}).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/gzip', etag }).end(body);
      });
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
      port = (server.address() as AddressInfo).port;
      (s as { url: string }).url = `http://127.0.0.1:${port}`;
    },
    close: () => s.stop(),
    async waitFor(pred, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred(s.requests)) {
        if (Date.now() > deadline) throw new Error(`bundle server: condition not met after ${s.requests.length} requests`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
  if (initial) s.serve(initial);
  await s.start();
  return s;
}
