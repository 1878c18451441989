// A body over `policy.max_body_bytes` is refused 413 and never forwarded, whether its size is
// announced by Content-Length or only discovered while reading a chunked stream
// (src/proxy/body.ts readRequestBody).
//
// Each test fails if its defence goes: without the Content-Length pre-check the announced body
// is read and forwarded (the policy allows the write); without the running byte count a chunked
// body of any size is buffered and forwarded. The at-the-limit control shows that the same call
// is forwarded when it fits, so a 413 is the limit's doing and not the policy's.

import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { closeAll, startProxyPair } from '../helpers/proxy-pair.js';
import { rawRequest, type RawAnswer } from '../helpers/raw-http.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { WardenHandle } from '../helpers/warden.js';

process.env.SEC_BODY_READ = 'sec-body-read-secret';
process.env.SEC_BODY_WRITE = 'sec-body-write-secret';

const LIMIT = 1024;
let github: TestUpstream;
let w: WardenHandle;
let token: string;

beforeAll(async () => {
  ({ upstream: github, w, token } = await startProxyPair({
    name: 'github',
    upstream: { lanes: bearerLanes({ read: 'SEC_BODY_READ', write: 'SEC_BODY_WRITE' }) },
    config: { policy: { max_body_bytes: LIMIT } },
  }));
});
afterAll(() => closeAll(w, github));

/** POST a JSON body in `parts` writes; with `chunked` no Content-Length is sent. */
function post(body: string, opts: { chunked: boolean; parts?: number }): Promise<RawAnswer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  if (opts.chunked) headers['transfer-encoding'] = 'chunked';
  else headers['content-length'] = String(Buffer.byteLength(body));
  const parts = opts.parts ?? 1;
  const size = Math.ceil(body.length / parts);
  const chunks: string[] = [];
  for (let i = 0; i < body.length; i += size) chunks.push(body.slice(i, i + size));
  // Warden may answer 413 and close while the rest of the body is still being written.
  return rawRequest(w.proxyUrl, '/github/repos/acme/app/issues', { method: 'POST', headers, chunks, ignoreErrorsOnceAnswered: true });
}

function jsonOfSize(n: number): string {
  const shell = JSON.stringify({ title: '' });
  return JSON.stringify({ title: 'x'.repeat(n - shell.length) });
}

async function expectRefused413(res: RawAnswer, before: number): Promise<void> {
  expect(res.status).toBe(413);
  expect(JSON.parse(res.body).error).toBe('BODY_TOO_LARGE');
  expect(github.seen.length).toBe(before);
  const id = res.headers['warden-decision-id'];
  expect(typeof id).toBe('string');
  const lines = await w.decisionLines(id);
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
