import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bindingDigest, bindingFromInput, canonicalJson } from '../../../src/stepup/binding.js';
import type { RequestInput } from '../../../src/policy/types.js';
import { httpBinding } from './fixtures.js';

const request: RequestInput = {
  id: 'r1',
  method: 'POST',
  upstream: 'tools',
  path: '/mcp',
  query: {},
  headers: {},
  body: null,
  body_digest: 'sha256:' + 'b'.repeat(64),
  size: 10,
};

describe('canonicalJson', () => {
  it.each([
    [{ b: 1, a: { d: [3, 1], c: null } }, '{"a":{"c":null,"d":[3,1]},"b":1}'],
    [[{ y: 1, x: 2 }, 'z'], '[{"x":2,"y":1},"z"]'],
    [{ a: undefined, b: 'é"' }, '{"b":"é\\""}'],
    ['plain', '"plain"'],
    [42, '42'],
  ])('%j → %s', (value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });
});

describe('bindingDigest', () => {
  it('has the sha256:<hex> form and is stable', () => {
    const d = bindingDigest(httpBinding());
    expect(d).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(bindingDigest(httpBinding())).toBe(d);
  });

  it('ignores object key order, including query keys', () => {
    const a = httpBinding({ query: { b: ['2'], a: ['1', '0'] } });
    const b = { body_digest: a.body_digest, query: { a: ['1', '0'], b: ['2'] }, path: a.path, method: a.method, upstream: a.upstream, agent_id: a.agent_id, task_id: a.task_id };
    expect(bindingDigest(b)).toBe(bindingDigest(a));
  });

  it('keeps query value order and method case-insensitive', () => {
    expect(bindingDigest(httpBinding({ query: { a: ['1', '0'] } }))).not.toBe(bindingDigest(httpBinding({ query: { a: ['0', '1'] } })));
    expect(bindingDigest(httpBinding({ method: 'post' }))).toBe(bindingDigest(httpBinding({ method: 'POST' })));
  });

  it.each([
    ['body', { body_digest: 'sha256:' + 'c'.repeat(64) }],
    ['task', { task_id: 'task-2' }],
    ['agent', { agent_id: 'agent-2' }],
    ['upstream', { upstream: 'gitlab' }],
    ['method', { method: 'PUT' }],
    ['path', { path: '/repos/acme/other/merges' }],
    ['query', { query: { force: ['true'] } }],
  ])('changes when the %s changes', (_name, over) => {
    expect(bindingDigest(httpBinding(over))).not.toBe(bindingDigest(httpBinding()));
  });

  it('ignores the JSON-RPC id of an MCP call but not its arguments', () => {
    const mcp = (id: number, args: unknown) => bindingFromInput({ request, mcp: { kind: 'request', method: 'tools/call', id, tool: 'delete_repo', arguments: args }, task: { id: 't' }, agent: { id: 'a' } });
    const base = bindingDigest(mcp(1, { repo: 'x', force: true }));
    expect(bindingDigest(mcp(2, { force: true, repo: 'x' }))).toBe(base);
    expect(bindingDigest(mcp(1, { repo: 'y', force: true }))).not.toBe(base);
    // Passing a whole McpInput (with id) straight in does not change the digest either.
    const raw = { ...mcp(1, { repo: 'x', force: true }), mcp: { method: 'tools/call', id: 99, tool: 'delete_repo', arguments: { repo: 'x', force: true } } };
    expect(bindingDigest(raw)).toBe(base);
  });

  it('binds an MCP call by its method and target (tool, prompt name or resource URI)', () => {
    const d = (mcp: { method: string; tool?: string; name?: string; uri?: string; arguments?: unknown }) => bindingDigest(bindingFromInput({ request, mcp: { kind: 'request', id: 1, ...mcp }, task: { id: 't' }, agent: { id: 'a' } }));
    const args = { repo: 'x' };
    const digests = [
      d({ method: 'tools/call', tool: 'delete_repo', arguments: args }),
      d({ method: 'prompts/get', name: 'delete_repo', arguments: args }),
      d({ method: 'prompts/get', name: 'other', arguments: args }),
      d({ method: 'resources/read', uri: 'config://a' }),
      d({ method: 'resources/read', uri: 'config://b' }),
      d({ method: 'resources/subscribe', uri: 'config://a' }),
    ];
    expect(new Set(digests).size).toBe(digests.length);
    // A tools/call digest is what it was before prompts and resources were bound (approvals pending across an upgrade still match).
    expect(digests[0]).toBe('sha256:' + createHash('sha256').update('{"agent_id":"a","mcp":{"arguments":{"repo":"x"},"method":"tools/call","tool":"delete_repo"},"method":"POST","path":"/mcp","query":{},"task_id":"t","upstream":"tools"}').digest('hex'));
  });

  it('binds an MCP call by tool, not by body digest', () => {
    const a = bindingFromInput({ request, mcp: { kind: 'request', method: 'tools/call', id: 1, tool: 'a' } });
    const b = bindingFromInput({ request: { ...request, body_digest: 'sha256:' + 'd'.repeat(64) }, mcp: { kind: 'request', method: 'tools/call', id: 2, tool: 'a' } });
    expect(bindingDigest(a)).toBe(bindingDigest(b));
    expect(a).not.toHaveProperty('body_digest');
  });
});
