// The 2026-07-28 step-up on the request path (src/proxy/mrtr.ts): which requests are answered
// input_required, and that Warden's state opens only for the call it was sealed for. The pipeline
// refuses a retry whose state names another call digest (judge(), src/proxy/pipeline.ts); here the
// digests a tools/call state and a prompts/get of the same name and arguments carry must differ.
// Mutation checked: without the method in bindingDigest (src/stepup/binding.ts) the
// tools/call-for-prompts/get case fails.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { answersInputRequired, openRetry, pendingInputRequired } from '../../../src/proxy/mrtr.js';
import { bindingDigest, bindingFromInput } from '../../../src/stepup/binding.js';
import type { McpInput, RequestInput } from '../../../src/policy/types.js';

const key = randomBytes(32);
const request: RequestInput = { id: 'r1', method: 'POST', upstream: 'tools', path: '/mcp', query: {}, headers: {}, body: null, body_digest: 'sha256:' + 'b'.repeat(64), size: 10 };
const modern = { kind: 'request' as const, id: 1, protocol_version: '2026-07-28' };
const toolCall: McpInput = { ...modern, method: 'tools/call', tool: 'delete_repo', arguments: { repo: 'x' } };
const promptGet: McpInput = { ...modern, method: 'prompts/get', name: 'delete_repo', arguments: { repo: 'x' } };
const digestOf = (mcp: McpInput) => bindingDigest(bindingFromInput({ request, mcp, task: { id: 't1' }, agent: { id: 'a1' } }));

/** The state Warden answers a pending step-up of `mcp` with. */
function sealedFor(mcp: McpInput): string {
  const answer = pendingInputRequired({ key, owner: 't1', call: digestOf(mcp), approval: 'ap1' }, { id: 1, url: 'http://x/console/approvals/ap1', expiresAtMs: Date.now() + 60_000, retried: undefined });
  return (JSON.parse(answer) as { result: { requestState: string } }).result.requestState;
}

const bodyOf = (mcp: McpInput, requestState: string) => ({ jsonrpc: '2.0', id: 2, method: mcp.method, params: { ...(mcp.tool !== undefined ? { name: mcp.tool } : { name: mcp.name }), arguments: mcp.arguments, requestState } });

describe('2026-07-28 step-up on the request path', () => {
  it('answers input_required for tools/call, prompts/get and resources/read of a 2026-07-28 client only', () => {
    for (const method of ['tools/call', 'prompts/get', 'resources/read']) expect(answersInputRequired({ ...modern, method })).toBe(true);
    for (const method of ['resources/list', 'tools/list', 'completion/complete']) expect(answersInputRequired({ ...modern, method })).toBe(false);
    expect(answersInputRequired({ ...promptGet, protocol_version: '2025-11-25' })).toBe(false);
    expect(answersInputRequired({ kind: 'notification', method: 'prompts/get', protocol_version: '2026-07-28' })).toBe(false);
  });

  it('opens a prompts/get state for that prompts/get: its claims name its own digest', () => {
    const retry = openRetry(key, promptGet, bodyOf(promptGet, sealedFor(promptGet)), 't1', Date.now());
    expect(retry?.claims.call).toBe(digestOf(promptGet));
    expect(JSON.parse(retry!.body.toString())).toEqual({ jsonrpc: '2.0', id: 2, method: 'prompts/get', params: { name: 'delete_repo', arguments: { repo: 'x' } } });
  });

  it('a state sealed for tools/call X names a digest no prompts/get X has (the pipeline refuses it)', () => {
    const retry = openRetry(key, promptGet, bodyOf(promptGet, sealedFor(toolCall)), 't1', Date.now());
    expect(retry?.claims.call).toBe(digestOf(toolCall));
    expect(retry?.claims.call).not.toBe(digestOf(promptGet));
  });

  it('refuses a state of another owner on prompts/get', () => {
    expect(() => openRetry(key, promptGet, bodyOf(promptGet, sealedFor(promptGet)), 't2', Date.now())).toThrow(/another task/);
  });
});
