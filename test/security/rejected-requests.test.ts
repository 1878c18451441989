// Class 6 of issue 10, requests Node's HTTP parser refuses before Warden's handler runs. Node
// would answer them itself and no decision-log line would show them; src/proxy/rejected.ts gives
// each a coded answer with a `warden-decision-id` and exactly one decision-log line. Requests are
// written as literal bytes on a socket.
//
// Mutations checked: without the server's 'clientError' listener (src/sidecar.ts) Node answers
// 400/431 with no JSON, no decision id and no log line, and every framing test fails; without the
// 'checkExpectation' listener Node answers 417 unlogged; with `requireHostHeader` left on, the
// request without Host is answered 400 by Node and never logged.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientErrorCode } from '../../src/proxy/rejected.js';
import { startRig, type Rig } from '../helpers/differential.js';
import { rawSocket } from '../helpers/raw-http.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(() => rig.close());

interface Wire {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parseWire(text: string): Wire {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [line = '', ...fields] = head.split('\r\n');
  const headers = Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]));
  return { status: Number(line.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

async function expectAccounted(bytes: string, code: string, status: number): Promise<void> {
  const before = (await rig.w.decisions()).length;
  const seenBefore = rig.api.seen.length;
  const wire = parseWire(await rawSocket(rig.w.proxyUrl, bytes));
  expect(wire.status, wire.body).toBe(status);
  expect(JSON.parse(wire.body)).toMatchObject({ error: code });
  const id = wire.headers['warden-decision-id'];
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const lines = await rig.w.decisionLines(id);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ outcome: 'error', error: code, status });
  expect((await rig.w.decisions()).length).toBe(before + 1);
  expect(rig.api.seen.length).toBe(seenBefore);
}

const auth = () => `Authorization: Bearer ${rig.token}\r\n`;

describe('requests Node refuses before the handler are answered with a code and logged once', () => {
  it('Content-Length with Transfer-Encoding (request smuggling): 400 REQUEST_MALFORMED', () =>
    expectAccounted(`POST /api/items HTTP/1.1\r\nHost: x\r\n${auth()}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/admin HTTP/1.1\r\nHost: x\r\n\r\n`, 'REQUEST_MALFORMED', 400));

  it('two different Content-Lengths: 400 REQUEST_MALFORMED', () =>
    expectAccounted(`POST /api/items HTTP/1.1\r\nHost: x\r\n${auth()}Content-Length: 2\r\nContent-Length: 9\r\n\r\n{}`, 'REQUEST_MALFORMED', 400));

  it('an obsolete line folding header: 400 REQUEST_MALFORMED', () =>
    expectAccounted(`GET /api/items HTTP/1.1\r\nHost: x\r\n${auth()}X-Tenant: acme\r\n  other\r\n\r\n`, 'REQUEST_MALFORMED', 400));

  it('a space before the colon of a header name: 400 REQUEST_MALFORMED', () =>
    expectAccounted(`GET /api/items HTTP/1.1\r\nHost: x\r\n${auth()}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, 'REQUEST_MALFORMED', 400));

  it('a malformed request line: 400 REQUEST_MALFORMED', () => expectAccounted('GET /api/items HTTP/9.9 extra\r\n\r\n', 'REQUEST_MALFORMED', 400));

  it('headers over 16 KiB: 431 HEADERS_TOO_LARGE', () => expectAccounted(`GET /api/items HTTP/1.1\r\nHost: x\r\n${auth()}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 'HEADERS_TOO_LARGE', 431));

  it('an Expect other than 100-continue: 417 EXPECTATION_FAILED', () =>
    expectAccounted(`POST /api/items HTTP/1.1\r\nHost: x\r\n${auth()}Expect: 200-ok\r\nContent-Length: 2\r\n\r\n{}`, 'EXPECTATION_FAILED', 417));

  it('a request without Host goes through the handler and is logged once', async () => {
    const wire = parseWire(await rawSocket(rig.w.proxyUrl, `GET /api/items HTTP/1.1\r\n${auth()}Connection: close\r\n\r\n`));
    expect(wire.status).toBe(200);
    expect(await rig.w.decisionLines(wire.headers['warden-decision-id'])).toHaveLength(1);
  });
});

describe('clientErrorCode', () => {
  it.each([
    [{ code: 'HPE_HEADER_OVERFLOW' }, 'HEADERS_TOO_LARGE'],
    [{ code: 'ERR_HTTP_REQUEST_TIMEOUT' }, 'REQUEST_TIMEOUT'],
    [{ code: 'HPE_INVALID_METHOD' }, 'REQUEST_MALFORMED'],
    [{ code: 'ECONNRESET', bytesParsed: 12 }, 'REQUEST_MALFORMED'],
    [{ code: 'ECONNRESET', bytesParsed: 0 }, undefined],
  ])('maps %o to %s', (err, code) => {
    expect(clientErrorCode(Object.assign(new Error('x'), err))).toBe(code);
  });
});
