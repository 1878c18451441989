// The enforcement path end to end: a running Warden, real upstreams on port 0, the compiled
// example policy, task tokens from the admin API.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startWarden, type WardenHandle } from '../helpers/warden.js';

process.env.TEST_GH_READ = 'gh-read-secret-value';
process.env.TEST_GH_WRITE = 'gh-write-secret-value';
process.env.TEST_GH_ESC = 'gh-escalation-secret-value';

let github: TestUpstream;
let tools: TestUpstream;
let w: WardenHandle;
let token: string;
let streamEnded = false;

function lanes() {
  return bearerLanes({ read: 'TEST_GH_READ', write: 'TEST_GH_WRITE', escalation: 'TEST_GH_ESC' });
}

beforeAll(async () => {
  github = await startUpstream();
  tools = await startUpstream();
  github.on('/slow', () => undefined); // never answers
  github.on('/stream', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk;');
    // A slow body after the headers is the behaviour under test (longer than the 300 ms timeout).
    setTimeout(() => {
      streamEnded = true;
      res.end('x'.repeat(2_000_000));
    }, 400);
  });
  w = await startWarden({
    upstreams: {
      github: { prefix: '/github', url: github.url, timeout: '300ms', lanes: lanes() },
      tools: { prefix: '/tools', url: tools.url, lanes: lanes() },
    },
  });
  token = (await w.task()).token;
});
afterAll(async () => {
  await w?.close();
  await github?.close();
  await tools?.close();
});

const auth = () => ({ authorization: `Bearer ${token}` });

describe('proxy', () => {
  it('allows a read, injects the read lane and strips the task token', async () => {
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app/issues?state=open`, { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get('warden-decision-id')).toMatch(/^[0-9a-f-]{36}$/);
    const seen = github.seen.at(-1)!;
    expect(seen.url).toBe('/repos/acme/app/issues?state=open');
    expect(seen.headers.authorization).toBe('Bearer gh-read-secret-value');
    expect(seen.headers['x-warden-stage']).toBe('execute');
  });

  it('forwards a write with the write lane and the body', async () => {
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app/issues`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ title: 'bug' }) });
    expect(res.status).toBe(200);
    const seen = github.seen.at(-1)!;
    expect(seen.headers.authorization).toBe('Bearer gh-write-secret-value');
    expect(JSON.parse(seen.body)).toEqual({ title: 'bug' });
  });

  it('denies a write outside the execute stage with 403 and never forwards it', async () => {
    const t = await w.task({ stage: 'plan' });
    const before = github.seen.length;
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app/issues`, { method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(403);
    const body = await res.json();
    expect(body.error).toBe('POLICY_DENIED');
    expect(body.decision_id).toBe(res.headers.get('warden-decision-id'));
    expect(body.reason).toMatch(/execute/);
    expect(github.seen.length).toBe(before);
  });

  it('answers a destructive call with the RFC 9470 step-up challenge', async () => {
    const t = await w.task({ user: { id: 'bob', roles: ['maintainer'] } });
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app`, { method: 'DELETE', headers: { authorization: `Bearer ${t.token}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_user_authentication"/);
    expect(res.headers.get('retry-after')).toBe('5'); // step_up.retry_after's default
    const body = await res.json();
    expect(body).toMatchObject({ error: 'approval_required', decision_id: res.headers.get('warden-decision-id') });
    expect(body.approval_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect((await w.admin('GET', `/v1/approvals/${body.approval_id}`)).body).toMatchObject({ id: body.approval_id, status: 'pending', task_id: t.task_id, method: 'DELETE' });
    expect(Date.parse(body.expires_at)).toBeGreaterThan(Date.now());
  });

  it('answers an MCP deny as HTTP 200 with a JSON-RPC error keeping the id', async () => {
    const t = await w.task({ stage: 'plan' });
    const before = tools.seen.length;
    const res = await fetch(`${w.proxyUrl}/tools/mcp`, { method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 'call-7', method: 'tools/call', params: { name: 'create_issue', arguments: { title: 'x' } } }) });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 'call-7', error: { code: -32010, data: { error: 'POLICY_DENIED' } } });
    expect(tools.seen.length).toBe(before);
  });

  it('allows an MCP read tool and fills input.mcp', async () => {
    const res = await fetch(`${w.proxyUrl}/tools/mcp`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search_code', arguments: { q: 'x' } } }) });
    expect(res.status).toBe(200);
    const id = res.headers.get('warden-decision-id');
    const line = (await w.decisions()).find((d) => d.decision_id === id)!;
    expect((line.input as any).mcp).toEqual({ kind: 'request', method: 'tools/call', id: 1, tool: 'search_code', arguments: { q: 'x' } });
    expect(line.lane).toBe('read');
  });

  it('404s a path no upstream serves', async () => {
    const res = await fetch(`${w.proxyUrl}/nowhere/x`, { headers: auth() });
    expect(res.status).toBe(404);
    expect((await res.json()).error).toBe('ROUTE_NOT_FOUND');
  });

  it('413s a body over the limit and 400s bad JSON, forwarding neither', async () => {
    const before = github.seen.length;
    const big = await fetch(`${w.proxyUrl}/github/repos/acme/app/issues`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ x: 'a'.repeat(1_100_000) }) });
    expect(big.status).toBe(413);
    const bad = await fetch(`${w.proxyUrl}/github/repos/acme/app/issues`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '{"title": ' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toBe('BODY_INVALID_JSON');
    expect(github.seen.length).toBe(before);
  });

  it('streams the response: the first bytes reach the agent before the upstream has finished', async () => {
    streamEnded = false;
    const res = await fetch(`${w.proxyUrl}/github/stream`, { headers: auth() });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    // A buffering proxy could not hand over anything before the upstream ended its answer.
    expect(streamEnded).toBe(false);
    expect(new TextDecoder().decode(first.value)).toContain('first chunk;');
    let total = first.value!.length;
    for (let r = await reader.read(); !r.done; r = await reader.read()) total += r.value.length;
    expect(total).toBe('first chunk;'.length + 2_000_000);
  });

  it('maps an unreachable upstream to 502 and a slow one to 504', async () => {
    // The same policy and upstream name, pointed at a port nobody listens on.
    const gone = await startUpstream();
    await gone.close();
    const w2 = await startWarden({ upstreams: { github: { prefix: '/github', url: gone.url, lanes: lanes() } } });
    try {
      const t = await w2.task();
      const dead = await fetch(`${w2.proxyUrl}/github/repos/x`, { headers: { authorization: `Bearer ${t.token}` } });
      expect(dead.status).toBe(502);
      expect((await dead.json()).error).toBe('UPSTREAM_UNREACHABLE');
    } finally {
      await w2.close();
    }
    const slow = await fetch(`${w.proxyUrl}/github/slow`, { headers: auth() });
    expect(slow.status).toBe(504);
    expect((await slow.json()).error).toBe('UPSTREAM_TIMEOUT');
  });

  it('401s a request without a token with the RFC 6750 challenge', async () => {
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="warden"');
    const bad = await fetch(`${w.proxyUrl}/github/repos/acme/app`, { headers: { authorization: 'Bearer abc.def.ghi' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('writes exactly one decision log line per request', async () => {
    const ids: string[] = [];
    for (const path of ['/github/repos/a', '/nowhere', '/github/../x', '/github/slow']) {
      const res = await fetch(w.proxyUrl + path, { headers: auth() });
      ids.push(res.headers.get('warden-decision-id')!);
      await res.arrayBuffer();
    }
    const lines = (await w.decisions());
    for (const id of ids) expect(lines.filter((l) => l.decision_id === id)).toHaveLength(1);
    const all = lines.map((l) => l.decision_id);
    expect(new Set(all).size).toBe(all.length);
  });
});
