// The decision record is built from the outcome in one place: every kind, exactly.

import { describe, expect, it } from 'vitest';
import { WardenError } from '../../../src/errors.js';
import type { CallContext } from '../../../src/proxy/call-context.js';
import type { Evaluation, Known, Outcome } from '../../../src/proxy/outcome.js';
import { recordOf, type RecordMeta } from '../../../src/proxy/record.js';

const meta: RecordMeta = { decisionId: 'd-1', entrypoint: 'warden/decision', method: 'POST', durationMs: 1.5, clientGone: false };
const evaluation: Evaluation = {
  input: { request: { id: 'd-1', method: 'POST', upstream: 'gh', path: '/x', query: {}, headers: {}, body: null, body_digest: 'sha256:e', size: 0 }, time: { now_ns: 1, rfc3339: '1970-01-01T00:00:00Z' } },
  inputJson: '{"request":{}}',
  revision: 'rev-1',
  evalNs: 12_000,
  result: { ok: true, decision: { decision: 'allow', headers: {}, lane: 'write' } },
};
const known: Known = { upstream: 'gh', agent: 'agent-1', task: 't-1', stage: 'execute', evaluation };
const base = { decision_id: 'd-1', path: 'warden/decision', duration_ms: 1.5, method: 'POST', upstream: 'gh', agent: 'agent-1', task: 't-1', stage: 'execute', input: evaluation.input, input_json: evaluation.inputJson, revision: 'rev-1', result: { decision: 'allow', headers: {}, lane: 'write' }, eval_ns: 12_000 };

describe('recordOf', () => {
  it('records a forwarded allow with lane, approval and the upstream status', () => {
    const o: Outcome = { kind: 'forward', mode: 'allow', known: { ...known, lane: 'write', approval: 'a-1' }, call: {} as CallContext, headers: {} };
    expect(recordOf(o, { status: 201, upstreamStatus: 201 }, meta)).toEqual({ ...base, outcome: 'allow', status: 201, lane: 'write', approval: 'a-1', upstream_status: 201 });
  });

  it('records a dry run, and a forward that failed upstream as an error with its code', () => {
    const o: Outcome = { kind: 'forward', mode: 'dry_run', known, call: {} as CallContext, headers: {} };
    expect(recordOf(o, { status: 200, upstreamStatus: 200 }, meta)).toEqual({ ...base, outcome: 'dry_run', status: 200, upstream_status: 200 });
    expect(recordOf(o, { status: 502, error: 'UPSTREAM_UNREACHABLE' }, meta)).toEqual({ ...base, outcome: 'error', status: 502, error: 'UPSTREAM_UNREACHABLE' });
  });

  it('records a refusal with the cause it names', () => {
    const deny: Outcome = { kind: 'refuse', known, mcp: undefined, code: 'POLICY_DENIED', reason: 'no' };
    expect(recordOf(deny, { status: 403 }, meta)).toEqual({ ...base, outcome: 'deny', status: 403 });
    const spent: Outcome = { kind: 'refuse', known: { ...known, approval: 'a-1' }, mcp: undefined, code: 'POLICY_DENIED', reason: 'approval already used', error: 'APPROVAL_CONFLICT' };
    expect(recordOf(spent, { status: 403 }, meta)).toEqual({ ...base, outcome: 'deny', status: 403, approval: 'a-1', error: 'APPROVAL_CONFLICT' });
  });

  it('records a challenge with its approval', () => {
    const o: Outcome = { kind: 'challenge', known: { ...known, approval: 'a-2' }, mcp: undefined, approvalId: 'a-2', expiresAt: '2030-01-01T00:00:00.000Z', reason: undefined };
    expect(recordOf(o, { status: 401 }, meta)).toEqual({ ...base, outcome: 'step_up', status: 401, approval: 'a-2' });
  });

  it('records an error with only what was known, and a failed evaluation without a result', () => {
    const early: Outcome = { kind: 'error', known: { upstream: 'gh' }, error: new WardenError('TOKEN_MISSING') };
    expect(recordOf(early, { status: 401 }, meta)).toEqual({ decision_id: 'd-1', path: 'warden/decision', duration_ms: 1.5, method: 'POST', upstream: 'gh', outcome: 'error', status: 401, error: 'TOKEN_MISSING' });
    const failed: Evaluation = { ...evaluation, revision: undefined, result: { ok: false, error: new WardenError('POLICY_NOT_LOADED') } };
    const o: Outcome = { kind: 'error', known: { ...known, evaluation: failed }, error: new WardenError('POLICY_NOT_LOADED') };
    const { result: _result, revision: _revision, ...withoutResult } = base;
    expect(recordOf(o, { status: 503 }, meta)).toEqual({ ...withoutResult, outcome: 'error', status: 503, error: 'POLICY_NOT_LOADED' });
  });

  it('records a departed client as client_abort 499, whatever the outcome', () => {
    const gone: Outcome = { kind: 'client_gone', known: { ...known, approval: 'a-3' } };
    expect(recordOf(gone, { status: 0 }, { ...meta, clientGone: true })).toEqual({ ...base, outcome: 'client_abort', status: 499, approval: 'a-3' });
    const fwd: Outcome = { kind: 'forward', mode: 'allow', known, call: {} as CallContext, headers: {} };
    expect(recordOf(fwd, { status: 200, upstreamStatus: 200 }, { ...meta, clientGone: true })).toEqual({ ...base, outcome: 'client_abort', status: 499, upstream_status: 200 });
  });
});
