// serializeInput() reuses the JSON of the agent and of the task's fields other than usage: what it
// gives must be JSON.stringify of the input, byte for byte, for every shape an input takes, and a
// reused part must never outlive a change of the task or agent it was made from.

import { describe, expect, it } from 'vitest';
import type { AgentInput, TaskInput } from '../../../src/policy/types.js';
import { buildInput, serializeInput } from '../../../src/proxy/request-input.js';

const claims = Object.freeze({ iss: 'warden', sub: 'bot', aud: 'warden', tid: 't-1', jti: 'j-1', iat: 1_764_680_000, exp: 1_764_683_600 });
const agent: AgentInput = Object.freeze({ id: 'bot', issuer: 'warden', claims });
const request = { id: 'd-1', method: 'GET', upstream: 'github', path: '/repos/a/b', query: { q: ['x"y'] }, headers: { accept: 'application/json' }, body: null, body_digest: 'sha256:e3', size: 0 };
const user = Object.freeze({ id: 'alice', roles: ['dev'] });
const scopes = Object.freeze(['github:read']) as string[];
const task = (calls: number, over: Partial<TaskInput> = {}): TaskInput => ({ id: 't-1', stage: 'plan', risk: 'low', user, scopes, expires_at: '2026-12-02T21:00:00.000Z', usage: { calls, stage_calls: calls - 1 }, ...over });
const same = (parts: Parameters<typeof buildInput>[0]): string => {
  const input = buildInput(parts);
  const text = serializeInput(input);
  expect(text).toBe(JSON.stringify(input));
  return text;
};

describe('serializeInput', () => {
  it('is JSON.stringify of the input, request after request of one task', () => {
    for (let i = 1; i < 5; i++) same({ request, mcp: undefined, agent, task: task(i), nowMs: 1_764_680_000_000 + i });
    same({ request, mcp: { kind: 'request', method: 'tools/call', tool: 'search', arguments: { q: '\u2028' } } as never, agent, task: task(9), approval: { id: 'a-1', approver: 'bob', approved_at: '2026-12-02T20:00:00.000Z' }, nowMs: 1 });
    same({ request, mcp: undefined, agent: undefined, task: undefined, nowMs: 2 });
  });

  it('makes the task part again when any of its fields changes', () => {
    same({ request, mcp: undefined, agent, task: task(1), nowMs: 3 });
    // The same user object (a store that kept it) with another stage, risk, id, expiry or scopes.
    for (const over of [{ stage: 'execute' }, { risk: 'high' }, { id: 't-2' }, { expires_at: '2027-01-01T00:00:00.000Z' }, { scopes: Object.freeze(['x']) as string[] }]) {
      const text = same({ request, mcp: undefined, agent, task: task(2, over), nowMs: 3 });
      expect(text).toContain(JSON.stringify(Object.values(over)[0]));
    }
  });

  it('takes tasks of other shapes, unfrozen parts and non-integer counts as JSON.stringify does', () => {
    same({ request, mcp: undefined, agent: { ...agent }, task: { ...task(1), user: { id: 'eve' } }, nowMs: 4 });
    same({ request, mcp: undefined, agent, task: { ...task(1), extra: true } as TaskInput, nowMs: 4 });
    const { usage, ...rest } = task(1);
    same({ request, mcp: undefined, agent, task: { usage, ...rest }, nowMs: 4 });
    same({ request, mcp: undefined, agent, task: task(1.5), nowMs: 4 });
    same({ request, mcp: undefined, agent, task: { ...task(1), usage: { calls: 1, stage_calls: 1, more: 2 } as TaskInput['usage'] }, nowMs: 4 });
  });
});
