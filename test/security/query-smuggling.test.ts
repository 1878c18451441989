// Query smuggling (src/proxy/path.ts splitTarget, parseQuery): the policy sees every value of a
// repeated parameter, and the upstream receives the canonical serialization of exactly what the
// policy saw, so a separator or encoding the upstream reads differently cannot hide a parameter
// from the policy. A `#fragment` in the raw request target (never legal on the wire) is refused.
//
// Each test fails if its defence goes: keeping only the first or last value of a repeated
// parameter changes `input.request.query`; forwarding the raw query instead of the canonical form
// changes what the upstream receives (`;` and `%26` tricks, escape case); and without the
// fragment check the target is forwarded (the upstream sees the part before `#`).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { closeAll, startProxyPair } from '../helpers/proxy-pair.js';
import { rawRequest, type RawAnswer } from '../helpers/raw-http.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { WardenHandle } from '../helpers/warden.js';

process.env.SEC_QRY_READ = 'sec-qry-read-secret';

let github: TestUpstream;
let w: WardenHandle;
let token: string;

beforeAll(async () => {
  ({ upstream: github, w, token } = await startProxyPair({ name: 'github', upstream: { lanes: bearerLanes({ read: 'SEC_QRY_READ' }) } }));
});
afterAll(() => closeAll(w, github));

/** GET with a literal request target, as a hostile client would write it on the wire. */
const rawGet = (target: string): Promise<RawAnswer> => rawRequest(w.proxyUrl, target, { headers: { authorization: `Bearer ${token}` } });

async function decisionFor(res: RawAnswer): Promise<Record<string, any>> {
  const id = res.headers['warden-decision-id'];
  expect(typeof id).toBe('string');
  return w.decisionFor(id);
}

/** How a standard server reads the forwarded query: the same `{k: [v]}` the policy saw. */
function upstreamQuery(url: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of new URL(url, 'http://upstream').searchParams) (out[k] ??= []).push(v);
  return out;
}

async function forwarded(target: string): Promise<{ policyQuery: Record<string, string[]>; url: string }> {
  const before = github.seen.length;
  const res = await rawGet(target);
  expect(res.status, res.body).toBe(200);
  expect(github.seen.length).toBe(before + 1);
  const line = await decisionFor(res);
  return { policyQuery: line.input.request.query, url: github.seen.at(-1)!.url };
}

describe('query smuggling', () => {
  it('shows every value of a repeated parameter to the policy (?a=1&a=2 → {a: ["1","2"]}) and forwards both', async () => {
    const { policyQuery, url } = await forwarded('/github/repos/x?a=1&a=2');
    expect(policyQuery).toEqual({ a: ['1', '2'] });
    expect(url).toBe('/repos/x?a=1&a=2');
    expect(upstreamQuery(url)).toEqual(policyQuery);
  });

  it('forwards the canonical serialization of what the policy saw', async () => {
    const { policyQuery, url } = await forwarded('/github/repos/x?b=hello%20world&c&d=%7e%2a&a=%c3%a9');
    expect(policyQuery).toEqual({ b: ['hello world'], c: [''], d: ['~*'], a: ['é'] });
    expect(url).toBe('/repos/x?b=hello+world&c=&d=%7E*&a=%C3%A9');
    expect(upstreamQuery(url)).toEqual(policyQuery);
  });

  it('does not let a semicolon split a hidden parameter past the policy (?a=1;admin=true)', async () => {
    const { policyQuery, url } = await forwarded('/github/repos/x?a=1;admin=true');
    expect(policyQuery).toEqual({ a: ['1;admin=true'] });
    // Encoded, so an upstream that splits on `;` cannot see an `admin` parameter.
    expect(url).toBe('/repos/x?a=1%3Badmin%3Dtrue');
    expect(url).not.toContain(';');
  });

  it('keeps an encoded & inside its value (?a=1%26admin%3Dtrue is one parameter)', async () => {
    const { policyQuery, url } = await forwarded('/github/repos/x?a=1%26admin%3Dtrue');
    expect(policyQuery).toEqual({ a: ['1&admin=true'] });
    expect(upstreamQuery(url)).toEqual({ a: ['1&admin=true'] });
  });

  it('refuses a #fragment in the raw request target, not forwarded', async () => {
    for (const target of ['/github/repos/x#frag', '/github/repos/x?a=1#admin=true', '/github/repos/x?a=1%23b#c']) {
      const before = github.seen.length;
      const res = await rawGet(target);
      expect(res.status, target).toBe(400);
      expect(JSON.parse(res.body).error).toBe('PATH_INVALID');
      expect(github.seen.length, `${target} reached the upstream`).toBe(before);
    }
  });

  it('forwards an encoded # (%23) as data within its value', async () => {
    const { policyQuery, url } = await forwarded('/github/repos/x?a=1%23b');
    expect(policyQuery).toEqual({ a: ['1#b'] });
    expect(url).toBe('/repos/x?a=1%23b');
  });
});
