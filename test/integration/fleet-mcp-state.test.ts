// The MCP 2026-07-28 `requestState` across processes: sealed with the store's key
// (src/store/sealing-keys.ts), so a retry that lands on another sidecar of a fleet on one Redis, or
// on a single sidecar after its restart, is opened there; a tampered or forged state is still -32602.
// Raw JSON-RPC (as in mcp-sdk.test.ts) so that each round is sent to the sidecar the test names.
//
// Mutations checked: with a per-process random key again (randomBytes(32) for `stateKey` in
// src/sidecar.ts) the genuine state is -32602 on the other sidecar and after the restart: both fail;
// without the MAC check in openRequestState the tampered and forged states open on the other sidecar.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { startV2ToolServer, type ToolServer } from '../helpers/mcp-sdk-servers.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startWarden, type WardenHandle } from '../helpers/warden.js';

for (const [k, v] of Object.entries({ FMS_R: 'r', FMS_W: 'w', FMS_E: 'e' })) process.env[k] = v;
const lanes = bearerLanes({ read: 'FMS_R', write: 'FMS_W', escalation: 'FMS_E' });
const maintainer = { user: { id: 'mia', roles: ['maintainer'] } };

let redis: TestRedis;
let v2: ToolServer;
const upstreams = (): Record<string, Record<string, unknown>> => ({ tools: { prefix: '/tools', url: new URL(v2.url).origin, lanes } });

beforeAll(async () => {
  redis = await startRedis();
  v2 = await startV2ToolServer();
});
afterAll(async () => {
  await v2?.close();
  await redis?.close();
});

type Rpc = { status: number; body: any };

/** A 2026-07-28 tools/call of delete_repo through `w`, with extra params (requestState, inputResponses). */
async function deleteRepo(w: WardenHandle, token: string, repo: string, params: Record<string, unknown> = {}): Promise<Rpc> {
  const body = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'delete_repo', arguments: { repo }, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {}, url: {} } }, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } }, ...params } };
  const res = await fetch(`${w.proxyUrl}/tools/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'delete_repo' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

function refusedState(r: Rpc): void {
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ id: 7, error: { code: -32602, data: { error: 'MCP_REQUEST_STATE_INVALID' } } });
}

/** Still waiting for its approval: the state again, no second elicitation. */
function pending(r: Rpc): void {
  expect(r.body.result, JSON.stringify(r.body)).toMatchObject({ resultType: 'input_required', requestState: expect.stringMatching(/^warden1\./) });
  expect(r.body.result.inputRequests).toBeUndefined();
}

/** The state of a step-up and its approval's id. */
function stepUp(r: Rpc): { state: string; approvalId: string } {
  expect(r.body.result, JSON.stringify(r.body)).toMatchObject({ resultType: 'input_required', requestState: expect.stringMatching(/^warden1\./) });
  const url = r.body.result.inputRequests['warden-approval'].params.url as string;
  return { state: r.body.result.requestState, approvalId: decodeURIComponent(url.split('/').at(-1)!) };
}

const approve = { 'warden-approval': { action: 'accept' } };

describe('MCP requestState in a fleet on Redis', () => {
  let control: WardenHandle;
  let a: WardenHandle;
  let b: WardenHandle;
  beforeAll(async () => {
    const store = { kind: 'redis', url: redis.url, prefix: 'mcpstate:', max_staleness: '500ms' };
    control = await startWarden({ role: 'control', config: { store } });
    a = await startWarden({ upstreams: upstreams(), config: { store }, agents: [] });
    b = await startWarden({ upstreams: upstreams(), config: { store }, agents: [] });
  });
  afterAll(async () => {
    await Promise.all([a, b, control].filter(Boolean).map((w) => w.close()));
  });

  it('a state sealed by one sidecar is opened by another, round after round; tampered or forged it is -32602 there', async () => {
    const { token } = await control.task(maintainer);
    const calls = v2.state.calls.length;
    const { state, approvalId } = stepUp(await deleteRepo(a, token, 'acme/fleet'));

    const [payload, mac] = state.slice('warden1.'.length).split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tampered = `warden1.${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 3_600_000 })).toString('base64url')}.${mac}`;
    const forged = `warden1.${payload}.${Buffer.alloc(32, 1).toString('base64url')}`;
    for (const requestState of [tampered, forged]) refusedState(await deleteRepo(b, token, 'acme/fleet', { requestState, inputResponses: approve }));
    // The genuine one, on the other sidecar: still waiting for its approval.
    pending(await deleteRepo(b, token, 'acme/fleet', { requestState: state, inputResponses: approve }));
    expect(v2.state.calls.length).toBe(calls);

    expect((await control.admin('POST', `/v1/approvals/${approvalId}/approve`, { approver: 'security-oncall' })).status).toBe(200);
    // Approved, the retry on B runs; the server's round comes back sealed by B as a continuation...
    const round = await deleteRepo(b, token, 'acme/fleet', { requestState: state, inputResponses: approve });
    expect(round.body.result, JSON.stringify(round.body)).toMatchObject({ resultType: 'input_required', requestState: expect.stringMatching(/^warden1\./), inputRequests: { confirm: expect.any(Object) } });
    // ...which A opens and completes on the same approval, the server getting its own state back.
    const done = await deleteRepo(a, token, 'acme/fleet', { requestState: round.body.result.requestState, inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } });
    expect(done.body.result, JSON.stringify(done.body)).toMatchObject({ content: [{ type: 'text', text: 'deleted acme/fleet' }] });
    expect(v2.state.calls.slice(calls)).toEqual(['delete_repo:1', 'delete_repo:2']);
    expect(v2.state.requestStates.slice(-1)).toEqual(['server-round-1']);
  });
});

describe('MCP requestState across a restart on SQLite', () => {
  it('a state sealed before the restart is opened after it', async () => {
    const first = await startWarden({ upstreams: upstreams() });
    let again: WardenHandle | undefined;
    try {
      const { token } = await first.task(maintainer);
      const { state } = stepUp(await deleteRepo(first, token, 'acme/restart'));
      await first.close();
      again = await startWarden({ upstreams: upstreams(), dir: first.dir });
      pending(await deleteRepo(again, token, 'acme/restart', { requestState: state, inputResponses: approve }));
    } finally {
      await first.close();
      await again?.close();
    }
  });
});
