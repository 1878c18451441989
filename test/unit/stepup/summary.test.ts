import { describe, expect, it } from 'vitest';
import { compileMasks } from '../../../src/audit/mask.js';
import { buildDetail, buildSummary } from '../../../src/stepup/summary.js';

const task = { id: 't1', stage: 'execute', risk: 'medium', user: { id: 'dana' }, scopes: [], expires_at: '2030-01-01T00:00:00Z', usage: { calls: 0, stage_calls: 0 } } as never;

describe('buildDetail (what only the console shows)', () => {
  it('carries the task risk and the MCP arguments, masked as the decision log masks them', () => {
    const d = buildDetail({ task, mcp: { kind: 'request', method: 'tools/call', tool: 'delete_branch', arguments: { branch: 'tmp', password: 'hunter2' } } }, compileMasks(['input.mcp.arguments.password']));
    expect(d).toEqual({ task_risk: 'medium', mcp_arguments: { branch: 'tmp', password: '**REDACTED**' } });
  });

  it('gives the size instead of arguments too large to show', () => {
    const d = buildDetail({ mcp: { kind: 'request', method: 'tools/call', tool: 'write_file', arguments: { text: 'x'.repeat(20_000) } } }, []);
    expect(d.mcp_arguments).toBeUndefined();
    expect(d.mcp_arguments_bytes).toBeGreaterThan(20_000);
  });

  it('is empty for a plain HTTP call without a task', () => {
    expect(buildDetail({}, [])).toEqual({});
  });
});

describe('buildSummary (approval record and webhook event)', () => {
  const request = { id: 'r', method: 'POST', upstream: 'tools', path: '/mcp', query: {}, headers: {}, body: null, body_digest: 'sha256:x', size: 1 };
  it.each([
    [{ kind: 'request', method: 'tools/call', tool: 'delete_repo' }, { method: 'tools/call', tool: 'delete_repo' }],
    [{ kind: 'request', method: 'prompts/get', name: 'notice' }, { method: 'prompts/get', name: 'notice' }],
    [{ kind: 'request', method: 'resources/read', uri: 'config://secrets' }, { method: 'resources/read', uri: 'config://secrets' }],
  ] as const)('names the target of %j', (mcp, shown) => {
    expect(buildSummary({ request, mcp }, undefined, 0).mcp).toEqual(shown);
  });
});
