// Forwarding one request to a configured upstream and streaming its answer back, against real
// HTTP servers on port 0: the path joined to the upstream URL's path, Host, the decision id on the
// answer, the coded errors when no answer started (502 unreachable, 504 timeout), and the cases
// where the status went out already (the answer is cut, the status is still returned).

import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/validate.js';
import type { WardenError } from '../../../src/errors.js';
import { Upstreams, type ForwardRequest } from '../../../src/proxy/upstreams.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';
import { listen } from '../../helpers/listen.js';
import { until } from '../../helpers/wait.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function upstream(): Promise<TestUpstream> {
  const u = await startUpstream();
  cleanups.push(() => u.close());
  return u;
}

function upstreamsOf(defs: Record<string, Record<string, unknown>>): Upstreams {
  const config = validateConfig({ admin: { token: '${env:UNUSED}' }, upstreams: Object.fromEntries(Object.entries(defs).map(([n, d]) => [n, { prefix: `/${n}`, ...d }])) });
  const ups = new Upstreams(config.upstreams);
  cleanups.push(() => ups.close());
  return ups;
}

/** An answer at `path` that sends its headers and first bytes, then hangs; true once its connection closed. */
function hangAfterFirstBytes(u: TestUpstream, path: string, contentType: string, first: string): () => boolean {
  let closed = false;
  u.on(path, (req, res) => {
    res.writeHead(200, { 'content-type': contentType });
    res.write(first);
    req.socket.once('close', () => (closed = true));
  });
  return () => closed;
}

interface Through {
  /** What forward() resolved with, or the coded error it rejected with. */
  outcome: { status: number } | { error: WardenError };
  /** What the client received: status, headers, body; `aborted` when the answer was cut. */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  aborted: boolean;
}

/**
 * A real front server on port 0 whose handler calls forward() with `req` (over defaults: a GET of
 * `/` without a body) and hands the promise to `then`; `forwarded()` is the last call's promise.
 */
async function front(
  ups: Upstreams,
  req: Partial<ForwardRequest> & { upstream: string },
  then?: (forwarded: Promise<number>, res: ServerResponse) => void,
): Promise<{ port: number; forwarded: () => Promise<number> | undefined }> {
  let last: Promise<number> | undefined;
  const server: Server = createServer((_inReq, res: ServerResponse) => {
    last = ups.forward({ method: 'GET', pathAndQuery: '/', headers: {}, body: Buffer.alloc(0), decisionId: 'd-1', ...req }, res);
    then?.(last, res);
  });
  const { port, close } = await listen(server);
  cleanups.push(close);
  return { port, forwarded: () => last };
}

/**
 * One request through a real front server whose handler calls forward(): the client's view and
 * forward()'s result. A rejected forward is answered 599 here (the caller would map its code).
 */
async function through(ups: Upstreams, req: Partial<ForwardRequest> & { upstream: string }): Promise<Through> {
  let settle!: (o: Through['outcome']) => void;
  const outcome = new Promise<Through['outcome']>((r) => (settle = r));
  const { port } = await front(ups, req, (forwarded, res) =>
    forwarded.then(
      (status) => settle({ status }),
      (error: WardenError) => {
        settle({ error });
        res.writeHead(599).end();
      },
    ),
  );
  const answer = await new Promise<Omit<Through, 'outcome'>>((resolve, reject) => {
    const c = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let aborted = false;
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('aborted', () => (aborted = true));
      res.on('error', () => (aborted = true));
      res.on('close', () => resolve({ status: res.statusCode!, headers: { ...res.headers }, body: Buffer.concat(chunks).toString('utf8'), aborted: aborted || !res.complete }));
    });
    c.on('error', reject);
    c.end();
  });
  return { ...answer, outcome: await outcome };
}

describe('Upstreams.forward', () => {
  it('joins the upstream URL\'s path to the forwarded one and streams the answer back with the decision id', async () => {
    const u = await upstream();
    u.on('/base/teapot', (_req, res) => {
      res.writeHead(418, { 'content-type': 'text/plain', 'x-kept': 'yes', 'keep-alive': 'timeout=5', connection: 'x-private', 'x-private': 'hop' });
      res.end('short and stout');
    });
    const ups = upstreamsOf({ api: { url: `${u.url}/base//` } });
    const t = await through(ups, { upstream: 'api', method: 'POST', pathAndQuery: '/teapot?a=1&b=2', headers: { 'content-type': 'text/plain', 'x-agent': 'a1' }, body: Buffer.from('hello'), decisionId: 'dec-42' });
    expect(t.outcome).toEqual({ status: 418 });
    expect(t.status).toBe(418);
    expect(t.body).toBe('short and stout');
    expect(t.headers['warden-decision-id']).toBe('dec-42');
    expect(t.headers['x-kept']).toBe('yes');
    expect(t.headers['x-private']).toBeUndefined();
    expect(t.headers['keep-alive']).toBeUndefined();
    expect(u.seen).toHaveLength(1);
    expect(u.seen[0]).toMatchObject({ method: 'POST', url: '/base/teapot?a=1&b=2', body: 'hello' });
    expect(u.seen[0]!.headers).toMatchObject({ 'content-type': 'text/plain', 'x-agent': 'a1', 'content-length': '5', host: new URL(u.url).host });
  });

  it('sends no body and no body framing for an empty body, and the configured Host when set', async () => {
    const u = await upstream();
    const ups = upstreamsOf({ api: { url: u.url, host: 'api.internal:8443' } });
    const t = await through(ups, { upstream: 'api', method: 'DELETE', pathAndQuery: '/x' });
    expect(t.outcome).toEqual({ status: 200 });
    expect(u.seen[0]!.url).toBe('/x');
    expect(u.seen[0]!.headers.host).toBe('api.internal:8443');
    expect(u.seen[0]!.headers['content-length']).toBeUndefined();
    expect(u.seen[0]!.headers['transfer-encoding']).toBeUndefined();
    expect(u.seen[0]!.raw.length).toBe(0);
  });

  it('rejects an unknown upstream name with UPSTREAM_UNREACHABLE (502) and sends nothing', async () => {
    const ups = upstreamsOf({});
    const t = await through(ups, { upstream: 'nope' });
    expect(t.outcome).toEqual({ error: expect.objectContaining({ code: 'UPSTREAM_UNREACHABLE', status: 502, detail: 'nope: unknown' }) });
    expect(t.status).toBe(599);
  });

  it('rejects a refused connection with UPSTREAM_UNREACHABLE naming the upstream and the socket error', async () => {
    const u = await upstream();
    const url = u.url;
    await u.close();
    const ups = upstreamsOf({ api: { url } });
    const t = await through(ups, { upstream: 'api' });
    expect(t.outcome).toEqual({ error: expect.objectContaining({ code: 'UPSTREAM_UNREACHABLE', status: 502, detail: 'api: ECONNREFUSED' }) });
  });

  it('rejects an upstream that sends no headers within `timeout` with UPSTREAM_TIMEOUT (504)', async () => {
    const u = await upstream();
    // A silent upstream: the timeout running out is the behaviour under test.
    u.on('/silent', () => undefined);
    const ups = upstreamsOf({ api: { url: u.url, timeout: '100ms' } });
    const t = await through(ups, { upstream: 'api', pathAndQuery: '/silent' });
    expect(t.outcome).toEqual({ error: expect.objectContaining({ code: 'UPSTREAM_TIMEOUT', status: 504, detail: 'api: UND_ERR_HEADERS_TIMEOUT' }) });
  });

  it('once the status went out, an upstream failure cuts the answer and forward() still resolves with that status', async () => {
    const u = await upstream();
    u.on('/cut', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('partial');
      setImmediate(() => req.socket.destroy());
    });
    const ups = upstreamsOf({ api: { url: u.url } });
    const t = await through(ups, { upstream: 'api', pathAndQuery: '/cut' });
    expect(t.outcome).toEqual({ status: 200 });
    expect(t.status).toBe(200);
    expect(t.aborted).toBe(true);
    expect(t.body).toBe('partial');
  });

  it('holds the upstream back while the agent does not read, and then delivers the whole answer', async () => {
    // 64 MiB against the kernel's few MiB of socket buffers on each hop: with the agent not reading,
    // the upstream can only get that far if forward() buffers what it cannot pass on.
    const CHUNK = Buffer.alloc(256 * 1024, 'x');
    const TOTAL = 256;
    let written = 0;
    const u = await upstream();
    u.on('/big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL * CHUNK.length) });
      const more = (): void => {
        while (written < TOTAL) {
          written++;
          if (!res.write(CHUNK)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    const ups = upstreamsOf({ api: { url: u.url } });
    const { port, forwarded } = await front(ups, { upstream: 'api', pathAndQuery: '/big' });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const c = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false }, resolve);
      c.on('error', reject);
      c.end();
    });
    res.pause();
    await new Promise((r) => setTimeout(r, 500));
    expect(written).toBeGreaterThan(0);
    expect(written * CHUNK.length).toBeLessThan(32 * 1024 * 1024);
    let received = 0;
    res.on('data', (d: Buffer) => (received += d.length));
    await new Promise((r) => res.once('end', r).resume());
    expect(received).toBe(TOTAL * CHUNK.length);
    expect(await forwarded()).toBe(200);
  });

  it('outside streaming mode too, the agent leaving in the middle of an answer cancels the upstream call', async () => {
    const u = await upstream();
    const upstreamClosed = hangAfterFirstBytes(u, '/slow', 'text/plain', 'first');
    const ups = upstreamsOf({ api: { url: u.url, timeout: '30s' } });
    const { port, forwarded } = await front(ups, { upstream: 'api', pathAndQuery: '/slow' });
    await new Promise<void>((resolve, reject) => {
      const c = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.once('data', () => {
          c.destroy();
          resolve();
        });
      });
      c.on('error', () => undefined);
      c.on('close', () => resolve());
      c.end();
      setTimeout(() => reject(new Error('no answer')), 5000);
    });
    await until(upstreamClosed);
    expect(await forwarded()).toBe(200);
  });

  it('pipes the answer through the transform chosen from its headers, dropping content-length; none chosen keeps it', async () => {
    const u = await upstream();
    u.on('/text', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' }).end('abc'));
    const ups = upstreamsOf({ api: { url: u.url } });
    const upper = (): Transform => new Transform({ transform: (chunk: Buffer, _enc, cb) => cb(null, chunk.toString('utf8').toUpperCase() + '!') });
    const seenTypes: unknown[] = [];
    const t = await through(ups, {
      upstream: 'api',
      pathAndQuery: '/text',
      rewrite: (h) => {
        seenTypes.push(h['content-type']);
        return upper();
      },
    });
    expect(seenTypes).toEqual(['text/plain']);
    expect(t.body).toBe('ABC!');
    expect(t.headers['content-length']).toBeUndefined();
    const kept = await through(ups, { upstream: 'api', pathAndQuery: '/text', rewrite: () => undefined });
    expect(kept.body).toBe('abc');
    expect(kept.headers['content-length']).toBe('3');
  });

  it('in streaming mode, cuts an event stream silent for stream_idle_timeout but not one that keeps talking', async () => {
    const u = await upstream();
    u.on('/quiet', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    });
    let ticks = 0;
    u.on('/chatty', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      // Events every 25 ms, twenty times more often than the idle limit (a margin that a loaded
      // machine's late timers do not eat), for 300 ms, then the end.
      const timer = setInterval(() => {
        res.write(`data: ${++ticks}\n\n`);
        if (ticks === 12) {
          clearInterval(timer);
          res.end();
        }
      }, 25);
    });
    const ups = upstreamsOf({ api: { url: u.url, stream_idle_timeout: '500ms', timeout: '5s' } });
    const signal = new AbortController().signal;
    const quiet = await through(ups, { upstream: 'api', pathAndQuery: '/quiet', signal });
    expect(quiet.status).toBe(200);
    expect(quiet.body).toBe('data: 1\n\n');
    expect(quiet.aborted).toBe(true);
    const chatty = await through(ups, { upstream: 'api', pathAndQuery: '/chatty', signal });
    expect(chatty.aborted).toBe(false);
    expect(chatty.body.match(/^data: \d+$/gm)).toHaveLength(12);
  });

  it('in streaming mode, the abort signal cancels the upstream call', async () => {
    const u = await upstream();
    const upstreamClosed = hangAfterFirstBytes(u, '/hang', 'text/event-stream', 'data: open\n\n');
    const ups = upstreamsOf({ api: { url: u.url } });
    const ac = new AbortController();
    const pending = through(ups, { upstream: 'api', pathAndQuery: '/hang', signal: ac.signal });
    await until(() => u.seen.length === 1);
    ac.abort();
    const t = await pending;
    expect(t.outcome).toEqual({ status: 200 });
    expect(t.aborted).toBe(true);
    await until(upstreamClosed);
  });
});
