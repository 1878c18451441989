// A policy's `headers` are added to the forwarded request, so they may not set framing or
// hop-by-hop headers: a `content-length: 0` would desynchronize the upstream connection (request
// smuggling on the keep-alive pool) and a `host` would redirect virtual hosting
// (src/policy/decision.ts FORBIDDEN_HEADERS). Such a result is a POLICY_RESULT_INVALID: 503,
// never forwarded.
//
// Each test fails if its defence goes: without FORBIDDEN_HEADERS the result parses as an allow
// and the request reaches the upstream. `/ok` is the control that a permitted policy header is
// forwarded, so the 503s are the header rule's doing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicy } from '../helpers/policy.js';
import { closeAll, startProxyPair } from '../helpers/proxy-pair.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { WardenHandle } from '../helpers/warden.js';

const REGO = `
package warden

import rego.v1

hdrs := {
	"/ok": {"x-policy": "yes"},
	"/content-length": {"content-length": "0"},
	"/content-length-upper": {"Content-Length": "0"},
	"/host": {"host": "evil.example"},
	"/transfer-encoding": {"transfer-encoding": "chunked"},
	"/connection": {"connection": "close, authorization"},
	"/upgrade": {"upgrade": "websocket"},
	"/bad-name": {"x bad": "1"},
}

decision := {"decision": "allow", "headers": hdrs[input.request.path]}
`;

let api: TestUpstream;
let w: WardenHandle;
let token: string;

beforeAll(async () => {
  const bundle = await compilePolicy(REGO);
  ({ upstream: api, w, token } = await startProxyPair({ name: 'api', bundle }));
});
afterAll(() => closeAll(w, api));

async function expectInvalid(path: string): Promise<void> {
  const before = api.seen.length;
  const res = await fetch(`${w.proxyUrl}/api${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"a":1}' });
  expect(res.status, path).toBe(503);
  const body = (await res.json()) as { error: string; decision_id: string };
  expect(body.error).toBe('POLICY_RESULT_INVALID');
  expect(api.seen.length, `${path} reached the upstream`).toBe(before);
  expect(typeof body.decision_id).toBe('string');
  const lines = await w.decisionLines(body.decision_id);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ outcome: 'error', error: 'POLICY_RESULT_INVALID', status: 503 });
}

describe('policy headers may not set framing or hop-by-hop headers', () => {
  it('forwards a permitted policy header (control)', async () => {
    const res = await fetch(`${w.proxyUrl}/api/ok`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(res.status).toBe(200);
    expect(api.seen.at(-1)!.headers['x-policy']).toBe('yes');
    expect(api.seen.at(-1)!.body).toBe('{"a":1}');
  });

  it('refuses a policy that sets content-length: 0', async () => {
    await expectInvalid('/content-length');
  });

  it('refuses a policy that sets Content-Length in another case', async () => {
    await expectInvalid('/content-length-upper');
  });

  it('refuses a policy that sets host', async () => {
    await expectInvalid('/host');
  });

  it('refuses a policy that sets transfer-encoding', async () => {
    await expectInvalid('/transfer-encoding');
  });

  it('refuses a policy that sets connection', async () => {
    await expectInvalid('/connection');
  });

  it('refuses a policy that sets upgrade', async () => {
    await expectInvalid('/upgrade');
  });

  it('refuses a policy header whose name is not a token', async () => {
    await expectInvalid('/bad-name');
  });
});
