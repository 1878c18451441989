// The request body as the policy sees it, piece by piece: the media type parser, form parsing,
// describeBody's table of types and faults, and readRequestBody against a real HTTP server (the
// limit enforced from Content-Length and while streaming, a client leaving mid-body). The attacks
// these pieces stop are in test/security/ (json-visibility, out-of-band-semantics, body-limit).

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describeBody, parseMediaType, readRequestBody } from '../../../src/proxy/body.js';
import { ClientLink } from '../../../src/proxy/client-link.js';
import { readForm } from '../../../src/proxy/form.js';
import { listen } from '../../helpers/listen.js';
import { until } from '../../helpers/wait.js';

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const opts = { maxDepth: 8 };

describe('parseMediaType', () => {
  it.each([
    ['application/json', { type: 'application/json', params: [] }],
    ['Application/JSON; Charset="utf-8"', { type: 'application/json', params: [['charset', 'utf-8']] }],
    ['text/plain ;a=1; b="x\\"y"', { type: 'text/plain', params: [['a', '1'], ['b', 'x"y']] }],
    ['application/vnd.api+json;;', { type: 'application/vnd.api+json', params: [] }],
  ])('%j → %j', (value, expected) => {
    expect(parseMediaType(value)).toEqual(expected);
  });

  it.each(['json', 'application/', '/json', 'application/json; charset', 'application/json, text/plain', 'text/plain; a="open', 'appli cation/json'])('%j is not a media type', (value) => {
    expect(parseMediaType(value)).toBeUndefined();
  });
});

describe('readForm', () => {
  it('reads names and values in order, repeated names as lists, + as space, a bare name as ""', () => {
    const form = readForm(Buffer.from('a=1&b=two+words&a=%C3%A9&flag&&=empty-name&c='));
    expect({ ...form }).toEqual({ a: ['1', 'é'], b: ['two words'], flag: [''], '': ['empty-name'], c: [''] });
    expect(Object.getPrototypeOf(form)).toBeNull();
    // Names are plain keys of a prototype-less object: __proto__ is a field like any other.
    expect(Object.entries(readForm(Buffer.from('__proto__=x&constructor=y')))).toEqual([['__proto__', ['x']], ['constructor', ['y']]]);
  });

  it.each([
    ['a ";" separator', Buffer.from('a=1;b=2'), 'form body with ";"'],
    ['a malformed escape', Buffer.from('a=%zz'), 'malformed escape in a form body'],
    ['an escape that is not UTF-8', Buffer.from('a=%C3'), 'malformed escape in a form body'],
    ['an encoded surrogate', Buffer.from('a=%ED%A0%80'), 'malformed escape in a form body'],
    ['raw bytes that are not UTF-8', Buffer.from([0x61, 0x3d, 0xff]), 'form body is not UTF-8'],
  ])('refuses %s as BODY_AMBIGUOUS', (_what, raw, detail) => {
    expect(() => readForm(raw)).toThrow(expect.objectContaining({ code: 'BODY_AMBIGUOUS', detail }));
  });
});

describe('describeBody', () => {
  it('an empty body is null whatever its type, with the digest of nothing', () => {
    expect(describeBody(Buffer.alloc(0), { 'content-type': 'multipart/form-data; boundary=x', 'content-encoding': 'gzip' }, opts)).toEqual({
      raw: Buffer.alloc(0),
      digest: sha(''),
      contentType: 'multipart/form-data; boundary=x',
      parsed: null,
    });
  });

  it.each([
    ['labelled JSON', 'application/json', '{"a":[1,"x"]}', { a: [1, 'x'] }],
    ['a +json type, a scalar', 'application/merge-patch+json; charset=UTF-8', '42', 42],
    ['an object under text/plain (read as JSON by many frameworks)', 'text/plain', '{"op":"delete"}', { op: 'delete' }],
    ['an array with no type at all', undefined, '[1,2]', [1, 2]],
    ['text that is not JSON', 'text/plain', 'hello', null],
    ['a scalar under another label', 'text/plain', '42', null],
  ])('%s', (_what, type, body, parsed) => {
    const raw = Buffer.from(body);
    expect(describeBody(raw, type === undefined ? {} : { 'content-type': type }, opts)).toEqual({ raw, digest: sha(raw), contentType: type, parsed });
  });

  it('a form is shown as form, and also as body when it is a JSON object too', () => {
    const form = describeBody(Buffer.from('a=1&a=2'), { 'content-type': 'application/x-www-form-urlencoded' }, opts);
    expect([form.parsed, { ...form.form }]).toEqual([null, { a: ['1', '2'] }]);
    const both = describeBody(Buffer.from('{"a=1":2}'), { 'content-type': 'application/x-www-form-urlencoded' }, opts);
    expect([both.parsed, { ...both.form }]).toEqual([{ 'a=1': 2 }, { '{"a': ['1":2}'] }]);
  });

  it.each([
    ['a Content-Encoding', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, '{}', 'BODY_TYPE_UNSUPPORTED', 'content-encoding'],
    ['a malformed content type', { 'content-type': 'application/json; charset' }, '{}', 'BODY_TYPE_UNSUPPORTED', 'malformed content-type'],
    ['another charset', { 'content-type': 'application/json; charset=latin1' }, '{}', 'BODY_TYPE_UNSUPPORTED', 'charset other than UTF-8'],
    ['multipart', { 'content-type': 'multipart/form-data; boundary=b' }, '--b--', 'BODY_TYPE_UNSUPPORTED', 'multipart body'],
    ['labelled JSON with a syntax error', { 'content-type': 'application/json' }, '{"a":', 'BODY_INVALID_JSON', undefined],
    ['a duplicate key', { 'content-type': 'application/json' }, '{"a":1,"a":2}', 'BODY_AMBIGUOUS', undefined],
    ['a BOM before an object under another label', { 'content-type': 'text/plain' }, '\uFEFF{"a":1}', 'BODY_AMBIGUOUS', undefined],
    ['nesting past max_json_depth', { 'content-type': 'application/json' }, '[[[[[[[[[1]]]]]]]]]', 'BODY_TOO_DEEP', undefined],
  ])('refuses %s', (_what, headers, body, code, detail) => {
    expect(() => describeBody(Buffer.from(body), headers, opts)).toThrow(expect.objectContaining({ code, ...(detail !== undefined && { detail }) }));
  });

  it('accepts Content-Encoding: identity, in any case', () => {
    expect(describeBody(Buffer.from('{}'), { 'content-type': 'application/json', 'content-encoding': ' Identity ' }, opts).parsed).toEqual({});
  });
});

describe('readRequestBody (a real server)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A server that reads each body with `limit` and reports the outcome. */
  async function server(limit: number): Promise<{ port: number; results: Promise<{ body?: Buffer; error?: { code: string; detail?: string } }>[] }> {
    const results: Promise<{ body?: Buffer; error?: { code: string; detail?: string } }>[] = [];
    const srv = createServer((req: IncomingMessage, res: ServerResponse) => {
      const link = new ClientLink(res);
      const r = readRequestBody(req, limit, link).then(
        (body) => ({ body }),
        (err: { code: string; detail?: string }) => ({ error: { code: err.code, detail: err.detail } }),
      );
      results.push(r);
      void r.then(() => res.writableEnded || res.destroyed || res.end('ok'));
    });
    const { port, close } = await listen(srv);
    cleanups.push(close);
    return { port, results };
  }

  const post = (port: number, body: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body, headers }).then((r) => r.text());

  it('reads a body up to the limit exactly, and an empty GET as empty', async () => {
    const s = await server(10);
    await post(s.port, '0123456789');
    await fetch(`http://127.0.0.1:${s.port}/`).then((r) => r.text());
    expect(await s.results[0]).toEqual({ body: Buffer.from('0123456789') });
    expect(await s.results[1]).toEqual({ body: Buffer.alloc(0) });
  });

  it('refuses an announced Content-Length over the limit before reading anything', async () => {
    const s = await server(10);
    await post(s.port, '01234567890').catch(() => undefined);
    expect(await s.results[0]).toEqual({ error: { code: 'BODY_TOO_LARGE', detail: 'content-length 11 > 10' } });
  });

  it('refuses a chunked body once it passes the limit', async () => {
    const s = await server(1024);
    const big = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(512).fill(97));
        c.close();
      },
    });
    await fetch(`http://127.0.0.1:${s.port}/`, { method: 'POST', body: big, duplex: 'half' } as RequestInit).catch(() => undefined);
    expect(await s.results[0]).toEqual({ error: { code: 'BODY_TOO_LARGE', detail: 'body exceeds 1024 bytes' } });
  });

  it('answers BODY_READ_FAILED when the client leaves in the middle of the body', async () => {
    const s = await server(1 << 20);
    const sock = connect(s.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part');
    await until(() => s.results.length === 1);
    sock.destroy();
    expect(await s.results[0]).toEqual({ error: { code: 'BODY_READ_FAILED', detail: 'client closed the request' } });
  });
});
