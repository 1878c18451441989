// Raw HTTP/1.1 requests to a Warden listener, for attacks that fetch/URL would normalize away:
// the request target and header names are sent exactly as given (node:http, no agent, a fresh
// connection per request), or, with rawSocket, as literal bytes on a socket.

import { request } from 'node:http';
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RawRequestOptions {
  /** Default GET. */
  method?: string;
  headers?: Record<string, string>;
  /** Body pieces, each sent with its own write (so a chunked body really goes out in chunks). */
  chunks?: (string | Buffer)[];
  /**
   * Ignore a connection error once the answer has begun: the server may answer (a 413, say) and
   * close while the rest of the body is still being written.
   */
  ignoreErrorsOnceAnswered?: boolean;
}

/** Send one request with the literal request target `target` to `baseUrl`'s host and port. */
export function rawRequest(baseUrl: string, target: string, opts: RawRequestOptions = {}): Promise<RawAnswer> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: u.hostname, port: u.port, path: target, method: opts.method ?? 'GET', agent: false, headers: opts.headers ?? {} }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', (err) => {
      if (!(answered && opts.ignoreErrorsOnceAnswered)) reject(err);
    });
    for (const chunk of opts.chunks ?? []) req.write(chunk);
    req.end();
  });
}

/** Write `bytes` on a fresh socket to `baseUrl`'s host and port; collect what comes back until the peer closes. */
export function rawSocket(baseUrl: string, bytes: string | Buffer, timeoutMs = 2_000): Promise<string> {
  const u = new URL(baseUrl);
  return new Promise((resolve) => {
    const sock = connect(Number(u.port), u.hostname, () => sock.write(bytes));
    let out = '';
    sock.on('data', (d: Buffer) => (out += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(out));
    sock.setTimeout(timeoutMs, () => sock.destroy());
  });
}
