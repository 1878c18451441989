// Path traversal and encoding tricks: the policy must see exactly the path the upstream receives,
// and no path may climb out of its upstream prefix (src/proxy/path.ts, src/proxy/router.ts).
// Requests are sent raw with node:http, because fetch/URL would normalize the very tricks under test.
//
// Each test fails if its defence goes: without the dot-segment check `/github/../admin` is
// forwarded as `/../admin`; without decoding unreserved escapes `%2e%2e` is not seen as `..`
// (and `%61` reaches the upstream un-decoded, so the policy and the upstream disagree); without
// the encoded-slash refusal `a%2fb` is forwarded; without the case fold `%c3%a9` is forwarded as
// sent; and the decision-log comparison fails if the input path is computed apart from the
// forwarded one.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { closeAll, startProxyPair } from '../helpers/proxy-pair.js';
import { rawRequest, type RawAnswer } from '../helpers/raw-http.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { WardenHandle } from '../helpers/warden.js';

process.env.SEC_PATH_READ = 'sec-path-read-secret';

let github: TestUpstream;
let w: WardenHandle;
let token: string;

beforeAll(async () => {
  ({ upstream: github, w, token } = await startProxyPair({ name: 'github', upstream: { lanes: bearerLanes({ read: 'SEC_PATH_READ' }) } }));
});
afterAll(() => closeAll(w, github));

/** GET with a literal request target, as a hostile client would write it on the wire. */
const rawGet = (target: string): Promise<RawAnswer> => rawRequest(w.proxyUrl, target, { headers: { authorization: `Bearer ${token}` } });

/** The one decision line of a request; it is written once the upstream's answer is fully relayed. */
async function decisionOf(res: RawAnswer): Promise<Record<string, any>> {
  const id = res.headers['warden-decision-id'];
  expect(typeof id).toBe('string');
  const lines = await w.decisionLines(id);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

/** The request is refused 400 PATH_INVALID, never reaches the upstream, and is logged. */
async function expectRefused(target: string): Promise<void> {
  const before = github.seen.length;
  const res = await rawGet(target);
  expect(res.status, target).toBe(400);
  expect(JSON.parse(res.body).error).toBe('PATH_INVALID');
  expect(github.seen.length, `${target} reached the upstream`).toBe(before);
  const line = await decisionOf(res);
  expect(line.error).toBe('PATH_INVALID');
  expect(line.status).toBe(400);
}

/** The request is forwarded as exactly `expected`, and the policy saw exactly that path. */
async function expectForwardedAs(target: string, expected: string): Promise<void> {
  const before = github.seen.length;
  const res = await rawGet(target);
  expect(res.status, `${target}: ${res.body}`).toBe(200);
  expect(github.seen.length).toBe(before + 1);
  const received = github.seen.at(-1)!.url;
  expect(received).toBe(expected);
  const line = await decisionOf(res);
  expect(line.input.request.path).toBe(received);
}

describe('path traversal and encoding tricks', () => {
  it('refuses a literal ../ that climbs out of the upstream prefix', async () => {
    await expectRefused('/github/../admin');
  });

  it('refuses %2e%2e (an encoded dot segment) that climbs out of the prefix', async () => {
    await expectRefused('/github/%2e%2e/admin');
  });

  it('refuses a mixed-case encoded dot segment %2E%2e', async () => {
    await expectRefused('/github/%2E%2e/x');
  });

  it('refuses a dot segment hidden inside an encoded slash (..%2f..%2f)', async () => {
    await expectRefused('/github/a/..%2f..%2fadmin');
  });

  it('refuses an encoded backslash (%5c), which some servers read as a separator', async () => {
    await expectRefused('/github/a%5c..%5cb');
  });

  it('refuses a raw backslash in the path', async () => {
    await expectRefused('/github/a\\..\\..\\admin');
  });

  it('refuses an encoded slash in a segment (a%2fb)', async () => {
    await expectRefused('/github/repos/a%2fb');
  });

  it('refuses an encoded NUL (%00)', async () => {
    await expectRefused('/github/repos/a%00b');
  });

  it('refuses a malformed percent-escape', async () => {
    await expectRefused('/github/repos/%zz');
  });

  it('refuses several ../ that climb out after descending', async () => {
    await expectRefused('/github/repos/%2e%2e/%2e%2e/admin');
  });

  it('does not route an encoded prefix (/%67ithub) to the upstream', async () => {
    const before = github.seen.length;
    const res = await rawGet('/%67ithub/repos/x');
    expect(res.status).toBe(404);
    expect(github.seen.length).toBe(before);
  });

  it('merges duplicate slashes: //repos///x is forwarded as /repos/x', async () => {
    await expectForwardedAs('/github//repos///x', '/repos/x');
  });

  it('decodes an unreserved escape: /repos/%61bc is forwarded as /repos/abc', async () => {
    await expectForwardedAs('/github/repos/%61bc', '/repos/abc');
  });

  it('upper-cases the hex of percent-escapes: %c3%a9 is forwarded as %C3%A9', async () => {
    await expectForwardedAs('/github/repos/caf%c3%a9', '/repos/caf%C3%A9');
  });

  it('resolves a .. that stays within the prefix: /repos/x/../y is forwarded as /repos/y', async () => {
    await expectForwardedAs('/github/repos/x/../y', '/repos/y');
  });

  it('resolves single-dot and encoded-dot segments within the prefix', async () => {
    await expectForwardedAs('/github/./repos/%2e/x/%2E%2e/z', '/repos/z');
  });
});
