// DNS rebinding against a loopback Warden: a web page on evil.example resolves its name to
// 127.0.0.1 and has the browser call Warden; the browser marks the request with its Origin. Warden
// refuses any Origin that is neither loopback nor listed in `allowed_origins` (403 ORIGIN_REFUSED,
// one decision line, nothing forwarded), before it routes or reads a token. Agents send no Origin.
// The upstream sees the Host its own rebinding check expects: the authority of `url`, or
// `upstreams.<name>.host` when set; never the Host the agent sent.
//
// The admin listener applies the same rule before its routes, the console and the admin token:
// a rebinding page must not read metrics, create tasks or approve calls with a token the browser
// cannot have but a console session cookie it might.
//
// Mutation: with the origin check removed from decide() (src/proxy/pipeline.ts) the evil-origin
// request reaches the upstream and the first two tests fail; with it removed from handle() in
// src/admin/server.ts the admin-listener refusals fail (the task is created, the console and
// metrics answer); with `host` ignored in src/proxy/upstreams.ts the Host test fails.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicy } from '../helpers/policy.js';
import { closeAll, startProxyPair } from '../helpers/proxy-pair.js';
import { rawRequest } from '../helpers/raw-http.js';
import { ADMIN_TOKEN } from '../helpers/warden.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { WardenHandle } from '../helpers/warden.js';

let up: TestUpstream;
let w: WardenHandle;
let token: string;

beforeAll(async () => {
  const bundle = await compilePolicy('package warden\n\ndecision := {"decision": "allow"}\n');
  ({ upstream: up, w, token } = await startProxyPair({ name: 'tools', bundle, upstream: { host: 'mcp.internal:8443' }, config: { allowed_origins: ['https://console.example'] } }));
});
afterAll(() => closeAll(w, up));

const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });

async function post(headers: Record<string, string>): Promise<Response> {
  return fetch(`${w.proxyUrl}/tools/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: initialize });
}

describe('Origin on the proxy listener', () => {
  it.each(['http://evil.example.com', 'null', 'http://localhost.evil.example'])('refuses Origin %s before anything else', async (origin) => {
    const before = up.seen.length;
    const res = await post({ origin });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'ORIGIN_REFUSED' });
    expect(up.seen.length).toBe(before);
    const lines = await w.decisionLines(res.headers.get('warden-decision-id'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ outcome: 'error', error: 'ORIGIN_REFUSED', status: 403 });
  });
  it('refuses a browser origin even without a token (no oracle for the page)', async () => {
    const res = await fetch(`${w.proxyUrl}/tools/mcp`, { method: 'POST', headers: { origin: 'http://evil.example.com' }, body: initialize });
    expect(res.status).toBe(403);
  });
  it.each(['http://127.0.0.1:5173', 'http://localhost:3000', 'https://console.example', undefined])('passes Origin %s (none: agents)', async (origin) => {
    const before = up.seen.length;
    const res = await post(origin === undefined ? {} : { origin });
    expect(res.status).toBe(200);
    expect(up.seen.length).toBe(before + 1);
  });
});

describe('Host towards the upstream', () => {
  it('is the configured upstream host, never the agent-sent one', async () => {
    const before = up.seen.length;
    const res = await rawRequest(w.proxyUrl, '/tools/mcp', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', host: 'evil.example.com' }, chunks: [initialize] });
    expect(res.status).toBe(200);
    expect(up.seen.length, res.body).toBe(before + 1);
    expect(up.seen[before]!.headers.host).toBe('mcp.internal:8443');
  });
});

describe('Origin on the admin listener', () => {
  const adminPost = (origin: string | undefined) =>
    fetch(`${w.adminUrl}/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...(origin !== undefined && { origin }) }, body: JSON.stringify({ agent: 'agent-1', user: { id: 'alice', roles: ['developer'] }, stage: 'plan', risk: 'low', scopes: [], ttl: '1m' }) });

  it.each(['http://evil.example.com', 'null'])('refuses Origin %s on the admin API even with the admin token', async (origin) => {
    const res = await adminPost(origin);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'ORIGIN_REFUSED' });
  });
  it.each(['/console/', '/console/approvals/x', '/metrics', '/health'])('refuses a foreign Origin on %s', async (path) => {
    const res = await fetch(`${w.adminUrl}${path}`, { headers: { origin: 'http://evil.example.com' }, redirect: 'manual' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'ORIGIN_REFUSED' });
  });
  it.each(['http://127.0.0.1:8181', 'https://console.example', undefined])('passes Origin %s (none: scripts and the admin CLI)', async (origin) => {
    const res = await adminPost(origin);
    expect(res.status).toBe(201);
    expect((await fetch(`${w.adminUrl}/console/`, { headers: origin === undefined ? {} : { origin }, redirect: 'manual' })).status).not.toBe(403);
  });
});
