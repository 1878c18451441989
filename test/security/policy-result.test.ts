// A policy that answers something other than the DESIGN.md result shape, or that fails at run
// time, fails closed: 503, never forwarded, logged as a policy error (src/policy/decision.ts
// parseDecision, src/policy/engine.ts classifyEvalError, src/proxy/evaluate.ts, the error outcome of src/proxy/pipeline.ts).
//
// One real Rego module, compiled with the pinned opa, answers a different result per path, so
// each attack is one request. `/ok` is the control: it shows that this policy and upstream do
// forward a well-formed allow, so a 503 elsewhere is the parser's doing.
//
// Each test fails if its defence goes: a lax parser that checks only `decision == "allow"`
// forwards `/extra`; a case-insensitive one forwards `/upper`; one that reads truthiness forwards
// `/bool` and `/string`; a parser that treats an empty result set as "no opinion → allow"
// forwards `/undefined`; and if the conflict error were swallowed, `/conflict` would be forwarded.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicy } from '../helpers/policy.js';
import { closeAll, startProxyPair } from '../helpers/proxy-pair.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { WardenHandle } from '../helpers/warden.js';

const REGO = `
package warden

import rego.v1

p := input.request.path

decision := {"decision": "allow"} if p == "/ok"

decision := true if p == "/bool"

decision := {"decision": "allow", "extra": 1} if p == "/extra"

decision := {"decision": "ALLOW"} if p == "/upper"

decision := "allow" if p == "/string"

decision := ["allow"] if p == "/array"

decision := {"decision": "allow", "lane": 7} if p == "/lane-type"

decision := {"decision": "allow", "headers": {"x-a": 1}} if p == "/header-type"

decision := {"decision": "allow", "headers": {"x-a": "1\\r\\nx-injected: 1"}} if p == "/header-crlf"

# Two complete rules with different values for the same input: an eval-time conflict error.
decision := {"decision": "allow"} if p == "/conflict"

decision := {"decision": "deny"} if p == "/conflict"

# Any other path: no rule applies, so decision is undefined.
`;

let api: TestUpstream;
let w: WardenHandle;
let token: string;

beforeAll(async () => {
  const bundle = await compilePolicy(REGO);
  ({ upstream: api, w, token } = await startProxyPair({ name: 'api', bundle }));
});
afterAll(() => closeAll(w, api));

async function call(path: string): Promise<Response> {
  return fetch(`${w.proxyUrl}/api${path}`, { headers: { authorization: `Bearer ${token}` } });
}

async function expectFailsClosed(path: string, code: 'POLICY_RESULT_INVALID' | 'POLICY_EVAL_FAILED'): Promise<void> {
  const before = api.seen.length;
  const res = await call(path);
  expect(res.status, path).toBe(503);
  const body = (await res.json()) as { error: string; message: string; decision_id: string };
  expect(body.error).toBe(code);
  expect(body.decision_id).toBe(res.headers.get('warden-decision-id'));
  expect(api.seen.length, `${path} reached the upstream`).toBe(before);
  expect(typeof body.decision_id).toBe('string');
  const lines = await w.decisionLines(body.decision_id);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ outcome: 'error', error: code, status: 503 });
}

describe('policy result of the wrong shape', () => {
  it('forwards a well-formed allow from the same policy (control)', async () => {
    const before = api.seen.length;
    const res = await call('/ok');
    expect(res.status).toBe(200);
    expect(api.seen.length).toBe(before + 1);
  });

  it('refuses decision = true (a boolean, not an object)', async () => {
    await expectFailsClosed('/bool', 'POLICY_RESULT_INVALID');
  });

  it('refuses an allow object with an unknown key ({"decision": "allow", "extra": 1})', async () => {
    await expectFailsClosed('/extra', 'POLICY_RESULT_INVALID');
  });

  it('refuses a decision value of the wrong case ({"decision": "ALLOW"})', async () => {
    await expectFailsClosed('/upper', 'POLICY_RESULT_INVALID');
  });

  it('refuses decision = "allow" (a bare string)', async () => {
    await expectFailsClosed('/string', 'POLICY_RESULT_INVALID');
  });

  it('refuses decision = ["allow"] (an array)', async () => {
    await expectFailsClosed('/array', 'POLICY_RESULT_INVALID');
  });

  it('refuses an allow whose lane is not a string', async () => {
    await expectFailsClosed('/lane-type', 'POLICY_RESULT_INVALID');
  });

  it('refuses an allow whose header value is not a string', async () => {
    await expectFailsClosed('/header-type', 'POLICY_RESULT_INVALID');
  });

  it('refuses an allow whose header value carries CR LF (header injection)', async () => {
    await expectFailsClosed('/header-crlf', 'POLICY_RESULT_INVALID');
  });

  it('refuses a decision that is undefined for the input', async () => {
    await expectFailsClosed('/nothing-matches', 'POLICY_RESULT_INVALID');
  });

  it('fails closed on a conflict runtime error (two complete rules with different values)', async () => {
    await expectFailsClosed('/conflict', 'POLICY_EVAL_FAILED');
  });
});
