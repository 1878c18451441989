// Class 7 of issue 10, bearer parsing. The proxy's identity check and the admin API read the
// Authorization header with one parser and one rule (src/identity/bearer.ts): no credentials get
// the bare challenge; an empty or whitespace-only bearer, or one with inner whitespace, is an
// invalid token answered `error="invalid_token"` (RFC 6750 §3.1) on both listeners alike.
//
// Mutations checked: with parseBearer answering "missing" for an empty Bearer token the empty and
// whitespace-only cases lose `error="invalid_token"` on both listeners; with the admin API back
// on its own regex (no invalid kind) the admin column of every invalid case fails.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBearer } from '../../src/identity/bearer.js';
import { startRig, type Rig } from '../helpers/differential.js';
import { rawSocket } from '../helpers/raw-http.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(() => rig.close());

/** The status and challenge for `authorization` (literal header line, or none) on a listener. */
async function challenge(base: string, target: string, authorization: string | undefined): Promise<{ status: number; www: string }> {
  const line = authorization === undefined ? '' : `Authorization:${authorization}\r\n`;
  const out = await rawSocket(base, `GET ${target} HTTP/1.1\r\nHost: x\r\n${line}Connection: close\r\n\r\n`);
  const status = Number(out.split(' ')[1]);
  const www = /\r\nwww-authenticate: ([^\r]*)/i.exec(out)?.[1] ?? '';
  return { status, www };
}

const surfaces = () => [
  ['proxy', rig.w.proxyUrl, '/api/items'],
  ['admin', rig.w.adminUrl, '/v1/approvals'],
] as const;

describe('one bearer rule on the proxy and the admin API', () => {
  it.each([
    ['an empty bearer', ' Bearer'],
    ['a whitespace-only bearer', ' Bearer    '],
    ['a tab-only bearer', ' Bearer \t '],
    ['a lowercase empty bearer', ' bearer'],
    ['a bearer with inner whitespace', ' Bearer abc def'],
  ])('answers %s with error="invalid_token" on both listeners', async (_name, value) => {
    for (const [name, base, target] of surfaces()) {
      const { status, www } = await challenge(base, target, value);
      expect(status, name).toBe(401);
      expect(www, name).toContain('error="invalid_token"');
    }
  });

  it.each([
    ['no Authorization header', undefined],
    ['an empty Authorization header', ' '],
    ['another scheme', ' Basic dXNlcjpwYXNz'],
  ])('answers %s with the bare challenge on both listeners', async (_name, value) => {
    for (const [name, base, target] of surfaces()) {
      const { status, www } = await challenge(base, target, value);
      expect(status, name).toBe(401);
      expect(www, name).toMatch(/^Bearer realm="warden(-admin)?"$/);
    }
  });

  it('answers a wrong admin token with error="invalid_token", as the proxy answers a bad token', async () => {
    for (const [name, base, target] of surfaces()) {
      const { status, www } = await challenge(base, target, ' Bearer not-the-right-token');
      expect(status, name).toBe(401);
      expect(www, name).toContain('error="invalid_token"');
    }
  });

  it('parses the same way for both (table)', () => {
    expect(parseBearer('Bearer abc.def')).toEqual({ kind: 'token', token: 'abc.def' });
    expect(parseBearer('BEARER \tabc')).toEqual({ kind: 'token', token: 'abc' });
    expect(parseBearer('Bearer').kind).toBe('invalid');
    expect(parseBearer(['Bearer a', 'Bearer b']).kind).toBe('invalid');
    expect(parseBearer('abc', { bare: true })).toEqual({ kind: 'token', token: 'abc' });
    expect(parseBearer('abc').kind).toBe('missing');
    expect(parseBearer('a b', { bare: true }).kind).toBe('invalid');
  });
});
