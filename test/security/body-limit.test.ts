// A body over `policy.max_body_bytes` is refused 413 and never forwarded, whether its size is
// announced by Content-Length or only discovered while reading a chunked stream
// (src/proxy/body.ts readRequestBody).
//
// Each test fails if its defence goes: without the Content-Length pre-check the announced body
// is read and forwarded (the policy allows the write); without the running byte count a chunked
// body of any size is buffered and forwarded. The at-the-limit control shows that the same call
// is forwarded when it fits, so a 413 is the limit's doing and not the policy's.

import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startWarden, type WardenHandle } from '../helpers/warden.js';

process.env.SEC_BODY_READ = 'sec-body-read-secret';
process.env.SEC_BODY_WRITE = 'sec-body-write-secret';

const LIMIT = 1024;
let github: TestUpstream;
let w: WardenHandle;
let token: string;

beforeAll(async () => {
  github = await startUpstream();
  w = await startWarden({
    config: { policy: { max_body_bytes: LIMIT } },
    upstreams: {
      github: {
        prefix: '/github',
        url: github.url,
        lanes: {
          read: { header: 'authorization', value: 'Bearer ${env:SEC_BODY_READ}' },
          write: { header: 'authorization', value: 'Bearer ${env:SEC_BODY_WRITE}' },
        },
      },
    },
  });
  token = (await w.task()).token;
});
afterAll(async () => {
  await w?.close();
  await github?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** POST a JSON body in `parts` writes; with `chunked` no Content-Length is sent. */
function post(body: string, opts: { chunked: boolean; parts?: number }): Promise<Answer> {
  const u = new URL(w.proxyUrl);
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  if (opts.chunked) headers['transfer-encoding'] = 'chunked';
  else headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: u.hostname, port: u.port, path: '/github/repos/acme/app/issues', method: 'POST', agent: false, headers }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    // Warden may answer 413 and close while the rest of the body is still being written.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const parts = opts.parts ?? 1;
    const size = Math.ceil(body.length / parts);
    for (let i = 0; i < body.length; i += size) req.write(body.slice(i, i + size));
    req.end();
  });
}

function jsonOfSize(n: number): string {
  const shell = JSON.stringify({ title: '' });
  return JSON.stringify({ title: 'x'.repeat(n - shell.length) });
}

/** The decision log so far; [] while a line is half on disk (the log is written asynchronously). */
async function settledDecisions(): Promise<Record<string, unknown>[]> {
  try {
    return await w.decisions();
  } catch (err) {
    if (err instanceof SyntaxError) return [];
    throw err;
  }
}

/**
 * The decision lines of one request. Polled: the log is written asynchronously and a line in an
 * in-flight write is not on disk until that write completes, even after a flush.
 */
async function decisionLines(id: unknown): Promise<Record<string, any>[]> {
  expect(typeof id).toBe('string');
  for (let i = 0; i < 100; i++) {
    const lines = (await settledDecisions()).filter((d) => d.decision_id === id);
    if (lines.length > 0) return lines as Record<string, any>[];
    await new Promise((r) => setTimeout(r, 20));
  }
  return [];
}

async function expectRefused413(res: Answer, before: number): Promise<void> {
  expect(res.status).toBe(413);
  expect(JSON.parse(res.body).error).toBe('BODY_TOO_LARGE');
  expect(github.seen.length).toBe(before);
  const id = res.headers['warden-decision-id'];
  const lines = await decisionLines(id);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ error: 'BODY_TOO_LARGE', status: 413 });
}

describe('request body over max_body_bytes', () => {
  it('forwards a body of exactly the limit (control)', async () => {
    const body = jsonOfSize(LIMIT);
    expect(Buffer.byteLength(body)).toBe(LIMIT);
    const before = github.seen.length;
    const res = await post(body, { chunked: false });
    expect(res.status, res.body).toBe(200);
    expect(github.seen.length).toBe(before + 1);
    expect(github.seen.at(-1)!.body).toBe(body);
  });

  it('refuses a body announced over the limit by Content-Length with 413, upstream never contacted', async () => {
    const before = github.seen.length;
    const res = await post(jsonOfSize(LIMIT * 4), { chunked: false, parts: 4 });
    await expectRefused413(res, before);
  });

  it('refuses an announced oversize body at once, before the client sends any of it', async () => {
    // Only the headers go out: a proxy that reads before judging the size would wait here.
    const before = github.seen.length;
    const u = new URL(w.proxyUrl);
    const head = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(u.port), u.hostname, () => {
        sock.write(`POST /github/repos/acme/app/issues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n`);
      });
      let out = '';
      sock.on('data', (d: Buffer) => {
        out += d.toString('latin1');
        if (out.includes('\r\n\r\n')) {
          sock.destroy();
          resolve(out);
        }
      });
      sock.on('error', reject);
      sock.setTimeout(3_000, () => {
        sock.destroy();
        reject(new Error('no answer before the body was sent'));
      });
    });
    expect(head).toMatch(/^HTTP\/1\.1 413/);
    expect(github.seen.length).toBe(before);
  });

  it('refuses a body one byte over the limit', async () => {
    const before = github.seen.length;
    const res = await post(jsonOfSize(LIMIT + 1), { chunked: false });
    await expectRefused413(res, before);
  });

  it('refuses a chunked body without Content-Length once it passes the limit, upstream never contacted', async () => {
    const before = github.seen.length;
    const res = await post(jsonOfSize(LIMIT * 8), { chunked: true, parts: 16 });
    await expectRefused413(res, before);
  });

  it('refuses a chunked body that passes the limit by one byte', async () => {
    const before = github.seen.length;
    const res = await post(jsonOfSize(LIMIT + 1), { chunked: true, parts: 3 });
    await expectRefused413(res, before);
  });

  it('keeps serving after refusing large bodies', async () => {
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
  });
});
