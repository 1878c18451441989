// Class 1 of issue 10, JSON the policy does not see. Many frameworks parse a JSON body whatever
// its label, so Warden reads an object or array body as JSON under any Content-Type and shows it
// to the policy (src/proxy/body.ts describeBody); what only a lenient decoder reads (a BOM,
// UTF-16/32, trailing data, a second value, NaN) is refused 400 BODY_AMBIGUOUS, never forwarded.
//
// Mutations checked: with describeBody parsing only `application/json`/`+json` (the old rule)
// every "shown" test forwards the hidden delete; with readStrictJson ignoring foreign encodings,
// trailing data or NaN (treating them as `syntax`), the matching refusal tests forward the body.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectDenied, expectForwarded, expectRefused, send, startRig, type Rig } from '../helpers/differential.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(() => rig.close());

const del = JSON.stringify({ action: 'delete', id: 7 });
const rpc = (tool: string, id = 1) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: {} } });
const utf16le = (s: string) => Buffer.from(s, 'utf16le');

describe('a JSON body under another label reaches the policy as JSON', () => {
  it.each([
    ['text/json'],
    ['application/x-json'],
    ['text/plain'],
    ['text/plain; charset=utf-8'],
    ['*/*'],
    ['application/octet-stream'],
    ['APPLICATION/JSON'],
  ])('shows a body labelled %s to the policy', async (type) => {
    const line = await expectDenied(rig, await send(rig, '/api/items', { headers: { 'content-type': type }, body: del }));
    expect(line.input.request.body).toEqual({ action: 'delete', id: 7 });
  });

  it('shows a body without a Content-Type to the policy', async () => {
    const line = await expectDenied(rig, await send(rig, '/api/items', { body: del }));
    expect(line.input.request.body).toEqual({ action: 'delete', id: 7 });
  });

  it('refuses a body under a malformed Content-Type (415 BODY_TYPE_UNSUPPORTED)', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: { 'content-type': 'application/json garbage' }, body: del }), 'BODY_TYPE_UNSUPPORTED', 415);
  });

  it('forwards a text body that is not JSON as an opaque body (control)', async () => {
    const { input, seen } = await expectForwarded(rig, await send(rig, '/api/notes', { headers: { 'content-type': 'text/plain' }, body: '[link](https://x) {"action":"delete"' }));
    expect(input.request.body).toBeNull();
    expect(seen.body).toBe('[link](https://x) {"action":"delete"');
  });

  it('shows a JSON-RPC call under text/plain to the policy as input.mcp', async () => {
    const line = await expectDenied(rig, await send(rig, '/tools/mcp', { headers: { 'content-type': 'text/plain' }, body: rpc('delete_repo') }));
    expect(line.input.mcp).toMatchObject({ method: 'tools/call', tool: 'delete_repo' });
  });
});

describe('JSON that only a lenient decoder reads is refused (400 BODY_AMBIGUOUS)', () => {
  it.each<[string, Buffer | string]>([
    ['a UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(rpc('delete_repo'))])],
    ['UTF-16LE with a BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le(rpc('delete_repo'))])],
    ['UTF-16LE without a BOM', utf16le(rpc('delete_repo'))],
    ['UTF-16BE', utf16le(rpc('delete_repo')).swap16()],
    ['UTF-32LE', Buffer.from([...rpc('delete_repo')].flatMap((c) => [c.charCodeAt(0), 0, 0, 0]))],
    ['trailing data', `${rpc('delete_repo')} trailing`],
    ['concatenated values', `${rpc('search')}${rpc('delete_repo', 2)}`],
    ['NaN', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repo","arguments":{"n":NaN}}}`],
  ])('refuses a JSON-RPC body with %s on an MCP upstream', async (_name, body) => {
    await expectRefused(rig, await send(rig, '/tools/mcp', { headers: { 'content-type': 'text/plain' }, body }), 'BODY_AMBIGUOUS', 400);
  });

  it('refuses a JSON-RPC body with a BOM labelled application/json (400 BODY_INVALID_JSON)', async () => {
    await expectRefused(rig, await send(rig, '/tools/mcp', { headers: { 'content-type': 'application/json' }, body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(rpc('delete_repo'))]) }), 'BODY_INVALID_JSON', 400);
  });

  it('refuses a REST body with trailing data under text/plain', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: { 'content-type': 'text/plain' }, body: `${del}\n{"action":"read"}` }), 'BODY_AMBIGUOUS', 400);
  });
});
