// JSON-RPC batches on an MCP upstream (src/mcp/input.ts mcpInput): a batch would let one policy
// decision cover several tool calls, so it is refused 400 MCP_BATCH_REFUSED and never forwarded.
// The policy here is the kind an author writes against `input.mcp`: everything is allowed except
// `delete_*` tools. It only holds if every JSON-RPC call reaches the policy as `input.mcp`.
//
// Each test fails if its defence goes: without the batch check, `mcpInput` returns undefined for
// an array, the policy sees no `input.mcp`, allows the POST, and the hidden `delete_repo` call is
// forwarded. Without reading a JSON-RPC body on an MCP upstream whatever its content type
// (src/proxy/body.ts describeBody, called from src/proxy/pipeline.ts decide), the same happens by sending `text/plain`. The controls show a
// single read call is forwarded and a single delete call is denied by this policy.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicy } from '../helpers/policy.js';
import { closeAll, startProxyPair } from '../helpers/proxy-pair.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { WardenHandle } from '../helpers/warden.js';

const REGO = `
package warden

import rego.v1

default decision := {"decision": "allow"}

decision := {"decision": "deny", "reason": "destructive tool"} if startswith(input.mcp.tool, "delete_")
`;

let tools: TestUpstream;
let w: WardenHandle;
let token: string;

beforeAll(async () => {
  const bundle = await compilePolicy(REGO);
  ({ upstream: tools, w, token } = await startProxyPair({ name: 'tools', upstream: { mcp: true }, bundle }));
});
afterAll(() => closeAll(w, tools));

const call = (id: number, name: string, args: unknown = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

async function post(body: string, contentType = 'application/json'): Promise<Response> {
  return fetch(`${w.proxyUrl}/tools/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body });
}

async function expectBatchRefused(body: string, contentType = 'application/json'): Promise<void> {
  const before = tools.seen.length;
  const res = await post(body, contentType);
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: string }).error).toBe('MCP_BATCH_REFUSED');
  expect(tools.seen.length).toBe(before);
  const lines = await w.decisionLines(res.headers.get('warden-decision-id'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ outcome: 'error', error: 'MCP_BATCH_REFUSED', status: 400 });
}

describe('JSON-RPC batches on an MCP upstream', () => {
  it('forwards a single read tool call (control)', async () => {
    const before = tools.seen.length;
    const res = await post(JSON.stringify(call(1, 'search_code', { q: 'x' })));
    expect(res.status).toBe(200);
    expect(tools.seen.length).toBe(before + 1);
  });

  it('denies a single destructive tool call as a JSON-RPC error (control)', async () => {
    const before = tools.seen.length;
    const res = await post(JSON.stringify(call(9, 'delete_repo', { repo: 'acme/app' })));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: 9, error: { data: { error: 'POLICY_DENIED' } } });
    expect(tools.seen.length).toBe(before);
  });

  it('refuses a batch that hides a destructive call behind a read (400 MCP_BATCH_REFUSED, not forwarded)', async () => {
    await expectBatchRefused(JSON.stringify([call(1, 'search_code', { q: 'x' }), call(2, 'delete_repo', { repo: 'acme/app' })]));
  });

  it('refuses a batch of one', async () => {
    await expectBatchRefused(JSON.stringify([call(1, 'search_code')]));
  });

  it('refuses a batch whose first element is not JSON-RPC but a later one is', async () => {
    await expectBatchRefused(JSON.stringify([{ hello: 'world' }, call(2, 'delete_repo')]));
  });

  it('refuses a batch sent under a non-JSON content type', async () => {
    await expectBatchRefused(JSON.stringify([call(1, 'search_code'), call(2, 'delete_repo')]), 'text/plain');
  });

  it('shows a JSON-RPC call sent under a non-JSON content type to the policy as input.mcp', async () => {
    const before = tools.seen.length;
    const res = await post(JSON.stringify(call(3, 'delete_repo', { repo: 'acme/app' })), 'text/plain');
    expect(await res.json()).toMatchObject({ id: 3, error: { data: { error: 'POLICY_DENIED' } } });
    expect(tools.seen.length).toBe(before);
  });
});
