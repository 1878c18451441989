import { describe, expect, it } from 'vitest';
import { parseDecision } from '../../../src/policy/decision.js';

const rs = (result: unknown) => [{ result }];

describe('parseDecision', () => {
  it.each([
    [{ decision: 'allow', lane: 'read', reason: 'ok', risk: 'low', headers: { 'X-Stage': 'plan' }, approvers: [] }, { decision: 'allow', lane: 'read', reason: 'ok', risk: 'low', headers: { 'x-stage': 'plan' } }],
    [{ decision: 'deny', reason: 'no', lane: '' }, { decision: 'deny', reason: 'no', headers: {} }],
    [{ decision: 'step_up', approvers: ['sec'], lane: 'escalation' }, { decision: 'step_up', approvers: ['sec'], lane: 'escalation', headers: {} }],
    [{ decision: 'allow', lane: 'jit', credential: { scope: 'repo:read', resource: 'https://api.example/x' } }, { decision: 'allow', lane: 'jit', headers: {}, credential: { scope: 'repo:read', resource: 'https://api.example/x' } }],
    [{ decision: 'allow', lane: 'jit', credential: {} }, { decision: 'allow', lane: 'jit', headers: {} }],
  ])('parses %j', (result, expected) => {
    expect(parseDecision(rs(result))).toEqual(expected);
  });

  it.each([
    ['an empty result set (undefined decision)', []],
    ['two results', [{ result: {} }, { result: {} }]],
    ['a boolean', rs(true)],
    ['a string', rs('allow')],
    ['an unknown decision', rs({ decision: 'ALLOW' })],
    ['an unknown key', rs({ decision: 'allow', extra: 1 })],
    ['a non-string reason', rs({ decision: 'deny', reason: 5 })],
    ['approvers not strings', rs({ decision: 'step_up', approvers: [1] })],
    ['headers as a list', rs({ decision: 'allow', headers: ['a'] })],
    ['a framing header', rs({ decision: 'allow', headers: { 'content-length': '0' } })],
    ['a host header', rs({ decision: 'allow', headers: { host: 'evil' } })],
    ['a header with CRLF', rs({ decision: 'allow', headers: { 'x-a': 'a\r\nb: c' } })],
    ['not a result set', { decision: 'allow' }],
    ['a credential that is not an object', rs({ decision: 'allow', credential: 'repo:admin' })],
    ['an unknown credential key', rs({ decision: 'allow', credential: { scope: 'a', audience: 'b' } })],
    ['a non-string credential scope', rs({ decision: 'allow', credential: { scope: ['a'] } })],
  ])('refuses %s', (_name, value) => {
    expect(() => parseDecision(value)).toThrow(expect.objectContaining({ code: 'POLICY_RESULT_INVALID' }));
  });
});
