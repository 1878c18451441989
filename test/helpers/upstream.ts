// A real HTTP upstream on 127.0.0.1 port 0 that records every request it receives and echoes it
// back as JSON. Behaviour per path can be changed by a test (slow, status, stream).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body's bytes exactly as received. */
  raw: Buffer;
}

export interface TestUpstream {
  url: string;
  seen: Seen[];
  server: Server;
  /** Replace the default echo for requests whose URL starts with `prefix`. */
  on(prefix: string, handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): void;
  close(): Promise<void>;
}

export async function startUpstream(): Promise<TestUpstream> {
  const seen: Seen[] = [];
  const handlers: [string, (req: IncomingMessage, res: ServerResponse, body: string) => void][] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = raw.toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body, raw });
      const custom = handlers.find(([p]) => (req.url ?? '').startsWith(p));
      if (custom) return custom[1](req, res, body);
      const out = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' });
      res.end(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    server,
    on: (prefix, handler) => void handlers.unshift([prefix, handler]),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
