// Hop-by-hop and `Connection` header smuggling, in both directions (src/proxy/headers.ts,
// fastify-reply-from's rule): a header named in `Connection` belongs to this hop only, so an agent
// that lists `x-secret-hop` there must not get it through, and an upstream's hop-by-hop answer
// headers must not reach the agent.
//
// Each test fails if its defence goes: drop refuseConnectionListed (issue 10: the policy would
// read a header the upstream never gets) and `x-secret-hop` reaches the upstream; drop HOP_BY_HOP and `te`/`upgrade`/`proxy-authorization`
// do; drop the `Connection` parsing in cleanResponseHeaders and `x-resp-hop` reaches the agent.
// The CL.TE test fails if the proxy listener is created with `insecureHTTPParser`.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { closeAll, startProxyPair } from '../helpers/proxy-pair.js';
import { rawRequest, rawSocket, type RawAnswer } from '../helpers/raw-http.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { WardenHandle } from '../helpers/warden.js';

process.env.SEC_HOP_READ = 'sec-hop-read-secret';
process.env.SEC_HOP_WRITE = 'sec-hop-write-secret';

let github: TestUpstream;
let w: WardenHandle;
let token: string;

beforeAll(async () => {
  ({ upstream: github, w, token } = await startProxyPair({
    name: 'github',
    upstream: { lanes: bearerLanes({ read: 'SEC_HOP_READ', write: 'SEC_HOP_WRITE' }) },
  }));
  github.on('/resp-hop', (_req, res) => {
    res.setHeader('connection', 'keep-alive, x-resp-hop, X-Other-Hop');
    res.setHeader('x-resp-hop', '1');
    res.setHeader('x-other-hop', '1');
    res.setHeader('keep-alive', 'timeout=7, max=3');
    res.setHeader('proxy-authenticate', 'Basic realm="upstream"');
    res.setHeader('trailer', 'x-checksum');
    res.setHeader('x-kept', 'yes');
    res.end('ok');
  });
});
afterAll(() => closeAll(w, github));

function send(target: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  // Two writes so that a chunked request really is sent in chunks.
  const half = Math.floor((opts.body ?? '').length / 2);
  const chunks = opts.body === undefined ? [] : [opts.body.slice(0, half), opts.body.slice(half)];
  return rawRequest(w.proxyUrl, target, { method: opts.method ?? 'GET', headers: { authorization: `Bearer ${token}`, ...opts.headers }, chunks });
}

/** The decision line of one request; it is written once the upstream's answer is fully relayed. */
async function decisionFor(id: unknown): Promise<Record<string, any>> {
  expect(typeof id).toBe('string');
  return w.decisionFor(id);
}

function lastSeen() {
  return github.seen.at(-1)!;
}

describe('hop-by-hop and Connection header smuggling', () => {
  it('refuses a request whose Connection names headers it carries (Connection: close, x-secret-hop): 400, not forwarded', async () => {
    const before = github.seen.length;
    const res = await send('/github/repos/a', { headers: { connection: 'close, x-secret-hop, X-Other-Secret', 'x-secret-hop': '1', 'x-other-secret': '1', 'x-visible': 'yes' } });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toBe('CONNECTION_HEADER_REFUSED');
    expect(github.seen.length).toBe(before);
  });

  it('forwards Connection: close with an ordinary header (control)', async () => {
    const res = await send('/github/repos/a', { headers: { connection: 'close', 'x-visible': 'yes' } });
    expect(res.status).toBe(200);
    expect(lastSeen().headers['x-visible']).toBe('yes');
  });

  it('does not forward the agent\'s keep-alive, te, trailer and proxy-connection headers', async () => {
    // Raw bytes: node's client refuses to write a Trailer header on a request without a chunked body.
    const before = github.seen.length;
    const out = await rawSocket(
      w.proxyUrl,
      `GET /github/repos/b HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: keep-alive, close\r\n` +
        `Keep-Alive: timeout=999, max=999\r\nTE: trailers, deflate\r\nTrailer: x-late\r\nProxy-Connection: keep-alive\r\nX-Visible: yes\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    expect(github.seen.length).toBe(before + 1);
    const seen = lastSeen();
    expect(seen.headers['x-visible']).toBe('yes');
    expect(seen.headers['keep-alive']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(seen.headers.trailer).toBeUndefined();
    expect(seen.headers['proxy-connection']).toBeUndefined();
  });

  it('does not forward an Upgrade request (no protocol switch through the proxy)', async () => {
    const res = await send('/github/repos/c', { headers: { connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
    expect(res.status).toBe(200);
    const seen = lastSeen();
    expect(seen.headers.upgrade).toBeUndefined();
    expect(String(seen.headers.connection ?? '')).not.toMatch(/upgrade/i);
  });

  it('does not forward an Upgrade header that Connection does not name (h2c smuggling)', async () => {
    const res = await send('/github/repos/c2', { headers: { connection: 'keep-alive', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA' } });
    expect(res.status).toBe(200);
    const seen = lastSeen();
    expect(seen.headers.upgrade).toBeUndefined();
    expect(seen.headers['http2-settings']).toBeUndefined();
  });

  it('does not forward the agent\'s proxy-authorization', async () => {
    const res = await send('/github/repos/d', { headers: { 'proxy-authorization': 'Basic YWdlbnQ6c2VjcmV0' } });
    expect(res.status).toBe(200);
    expect(lastSeen().headers['proxy-authorization']).toBeUndefined();
    const line = await decisionFor(res.headers['warden-decision-id']);
    expect(line.input.request.headers['proxy-authorization']).toBeUndefined();
  });

  it('re-frames a chunked request body: the upstream gets the exact body with a Content-Length, not the agent\'s transfer-encoding', async () => {
    const body = JSON.stringify({ title: 'x'.repeat(300) });
    const res = await send('/github/repos/acme/app/issues', { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body });
    expect(res.status, res.body).toBe(200);
    const seen = lastSeen();
    expect(seen.headers['transfer-encoding']).toBeUndefined();
    expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(seen.body).toBe(body);
  });

  it('refuses a request carrying both Content-Length and Transfer-Encoding (CL.TE smuggling)', async () => {
    const before = github.seen.length;
    const smuggled = 'GET /github/repos/smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
    const chunkedBody = `0\r\n\r\n${smuggled}`;
    const out = await rawSocket(
      w.proxyUrl,
      `POST /github/repos/acme/app/issues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${chunkedBody.length}\r\nTransfer-Encoding: chunked\r\n\r\n${chunkedBody}`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(github.seen.length).toBe(before);
    expect(github.seen.some((s) => s.url.includes('smuggled'))).toBe(false);
  });

  it('refuses an obfuscated Transfer-Encoding value (TE.TE smuggling)', async () => {
    const before = github.seen.length;
    const out = await rawSocket(
      w.proxyUrl,
      `POST /github/repos/acme/app/issues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: text/plain\r\n` +
        `Transfer-Encoding: chunked\r\nTransfer-Encoding: x-identity\r\nContent-Length: 4\r\n\r\n0\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(github.seen.length).toBe(before);
  });

  it('drops the upstream\'s Connection-named and hop-by-hop response headers before the agent', async () => {
    const res = await send('/github/resp-hop');
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
    expect(res.headers['x-kept']).toBe('yes'); // control: an ordinary header does come back
    expect(res.headers['x-resp-hop']).toBeUndefined();
    expect(res.headers['x-other-hop']).toBeUndefined();
    expect(res.headers['proxy-authenticate']).toBeUndefined();
    expect(res.headers.trailer).toBeUndefined();
    // Warden's own listener may announce its keep-alive; the upstream's value must not come through.
    expect(String(res.headers['keep-alive'] ?? '')).not.toMatch(/max=3|timeout=7/);
    expect(String(res.headers.connection ?? '')).not.toMatch(/x-resp-hop|x-other-hop/i);
  });
});
