// Class 3 of issue 10, semantics carried outside the method, path and body the policy reads.
// Method and URL overrides (headers, query and form `_method`) are refused 400 OVERRIDE_REFUSED;
// a URL-encoded form is shown to the policy as `input.request.form` and one that parsers read
// differently is refused 400 BODY_AMBIGUOUS; multipart bodies, a charset other than UTF-8 and a
// Content-Encoding are refused 415 BODY_TYPE_UNSUPPORTED; a `Connection` header naming a header
// of the request is refused 400 CONNECTION_HEADER_REFUSED, a header value outside ASCII 400
// HEADER_VALUE_REFUSED (src/proxy/headers.ts, body.ts, form.ts).
//
// Mutations checked: emptying OVERRIDE_HEADERS / OVERRIDE_FIELDS makes the override tests
// forward a POST the upstream runs as DELETE; describeBody without the form branch lets the form
// delete through; readForm without its `;` / escape / UTF-8 checks forwards the ambiguous forms;
// without the multipart, charset and content-encoding refusals those bodies are forwarded; without
// refuseConnectionListed the `Connection: content-type` request is forwarded untyped; without
// refuseNonAsciiValues the UTF-8 header value is forwarded.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectDenied, expectForwarded, expectRefused, send, startRig, type Rig } from '../helpers/differential.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(() => rig.close());

const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('method and URL overrides are refused (400 OVERRIDE_REFUSED)', () => {
  it.each(['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override', 'X-Original-Method'])('refuses %s: DELETE', async (name) => {
    await expectRefused(rig, await send(rig, '/api/repos/acme', { method: 'POST', headers: { [name]: 'DELETE' }, body: '{}' }), 'OVERRIDE_REFUSED', 400);
  });

  it.each(['X-Original-URL', 'X-Rewrite-URL'])('refuses %s (a path the policy never sees)', async (name) => {
    await expectRefused(rig, await send(rig, '/api/public', { headers: { [name]: '/admin/delete' } }), 'OVERRIDE_REFUSED', 400);
  });

  it('refuses a _method query parameter', async () => {
    await expectRefused(rig, await send(rig, '/api/repos/acme?_method=DELETE', { method: 'POST', body: '{}' }), 'OVERRIDE_REFUSED', 400);
  });

  it('refuses a _method field in a form body', async () => {
    await expectRefused(rig, await send(rig, '/api/repos/acme', { headers: form, body: 'name=x&_method=DELETE' }), 'OVERRIDE_REFUSED', 400);
  });
});

describe('form bodies are shown to the policy', () => {
  it('shows a form field to the policy as input.request.form (the delete is denied)', async () => {
    const line = await expectDenied(rig, await send(rig, '/api/items', { headers: form, body: 'id=7&action=delete' }));
    expect(line.input.request.form).toEqual({ id: ['7'], action: ['delete'] });
  });

  it('shows every value of a repeated field (the upstream may take either)', async () => {
    const line = await expectDenied(rig, await send(rig, '/api/items', { headers: form, body: 'action=read&action=delete' }));
    expect(line.input.request.form.action).toEqual(['read', 'delete']);
  });

  it('forwards a plain form with the form in the input (control)', async () => {
    const { input, seen } = await expectForwarded(rig, await send(rig, '/api/items', { headers: form, body: 'a=1+2&b=%C3%A9&a=3' }));
    expect(input.request.form).toEqual({ a: ['1 2', '3'], b: ['é'] });
    expect(input.request.form).toEqual(Object.fromEntries([...new Set(new URLSearchParams(seen.body).keys())].map((k) => [k, new URLSearchParams(seen.body).getAll(k)])));
  });

  it('shows a JSON object labelled as a form as input.request.body too (upstreams that read JSON whatever the label)', async () => {
    const line = await expectDenied(rig, await send(rig, '/api/items', { headers: form, body: '{"action":"delete"}' }));
    expect(line.input.request.body).toEqual({ action: 'delete' });
    expect(line.input.request.form).toEqual({ '{"action":"delete"}': [''] });
  });

  it('refuses a form with ";" separators (older parsers split on them: 400 BODY_AMBIGUOUS)', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: form, body: 'action=read;action=delete' }), 'BODY_AMBIGUOUS', 400);
  });

  it('refuses a form with a malformed escape', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: form, body: 'action=del%zzete' }), 'BODY_AMBIGUOUS', 400);
  });

  it('refuses a form whose escapes are not UTF-8', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: form, body: 'action=%C0%AEdelete' }), 'BODY_AMBIGUOUS', 400);
  });

  it('refuses a form with raw bytes that are not UTF-8', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: form, body: Buffer.from([0x61, 0x3d, 0xff]) }), 'BODY_AMBIGUOUS', 400);
  });
});

describe('bodies the policy cannot be shown are refused (415 BODY_TYPE_UNSUPPORTED)', () => {
  it('refuses a multipart body', async () => {
    const body = '--b\r\nContent-Disposition: form-data; name="action"\r\n\r\ndelete\r\n--b--\r\n';
    await expectRefused(rig, await send(rig, '/api/items', { headers: { 'content-type': 'multipart/form-data; boundary=b' }, body }), 'BODY_TYPE_UNSUPPORTED', 415);
  });

  it.each(['utf-16', 'iso-8859-1', 'utf-7'])('refuses a JSON body in charset %s', async (charset) => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: { 'content-type': `application/json; charset=${charset}` }, body: '{"action":"read"}' }), 'BODY_TYPE_UNSUPPORTED', 415);
  });

  it('refuses a second charset parameter hidden after a UTF-8 one', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: { 'content-type': 'application/json; charset=utf-8; charset=utf-7' }, body: '{"action":"read"}' }), 'BODY_TYPE_UNSUPPORTED', 415);
  });

  it('refuses a form in another charset', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' }, body: 'action=read' }), 'BODY_TYPE_UNSUPPORTED', 415);
  });

  it('refuses a compressed body (Content-Encoding: gzip)', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: Buffer.from([0x1f, 0x8b, 0x08, 0x00]) }), 'BODY_TYPE_UNSUPPORTED', 415);
  });

  it('forwards a UTF-8 JSON body with an explicit charset (control)', async () => {
    const { seen } = await expectForwarded(rig, await send(rig, '/api/items', { headers: { 'content-type': 'application/json; charset="UTF-8"' }, body: '{"action":"read"}' }));
    expect(seen.body).toBe('{"action":"read"}');
  });
});

describe('Connection naming a header of the request is refused (400 CONNECTION_HEADER_REFUSED)', () => {
  it('refuses Connection: content-type (the upstream would get an untyped body)', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: { 'content-type': 'application/json', connection: 'content-type' }, body: '{"action":"read"}' }), 'CONNECTION_HEADER_REFUSED', 400);
  });

  it('refuses Connection naming a header the policy reads', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: { 'x-tenant': 'acme', connection: 'keep-alive, X-Tenant' } }), 'CONNECTION_HEADER_REFUSED', 400);
  });

  it('forwards Connection: keep-alive and a named hop-by-hop header (control)', async () => {
    await expectForwarded(rig, await send(rig, '/api/items', { headers: { connection: 'keep-alive, te', te: 'trailers' } }));
  });
});

describe('header values outside ASCII are refused (400 HEADER_VALUE_REFUSED)', () => {
  it('refuses a header value with UTF-8 bytes (the policy would read latin1 text)', async () => {
    const { rawSocket } = await import('../helpers/raw-http.js');
    const before = rig.api.seen.length;
    const req = Buffer.concat([Buffer.from(`GET /api/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${rig.token}\r\nX-Title: caf`), Buffer.from('é', 'utf8'), Buffer.from('\r\nConnection: close\r\n\r\n')]);
    const out = await rawSocket(rig.w.proxyUrl, req);
    expect(out.split(' ')[1]).toBe('400');
    expect(out).toContain('"error":"HEADER_VALUE_REFUSED"');
    expect(rig.api.seen.length).toBe(before);
    const id = /\r\nwarden-decision-id: ([0-9a-f-]+)/i.exec(out)?.[1];
    expect(await rig.w.decisionLines(id)).toHaveLength(1);
  });
});
