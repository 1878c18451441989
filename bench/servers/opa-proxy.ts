// System (5): the Envoy + OPA style. A bare undici forwarding proxy that asks an OPA server
// (`opa run --server`, the same Rego) over HTTP for every request, the way Envoy's ext_authz
// asks opa-envoy-plugin, and forwards only on allow. The input has the shape Warden builds.
// The task is fixed (this proxy has no task store): the token is compared to a known value,
// standing in for Envoy's jwt_authn filter, and the call counts are kept in memory.
// Usage: opa-proxy.ts --upstream http://127.0.0.1:PORT --opa http://127.0.0.1:PORT --token T

import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { Pool } from 'undici';
import { announce, argValue, forwardHeaders, responseHeaders } from './forward.js';

const upstream = new Pool(argValue('--upstream'), { connections: 64, keepAliveTimeout: 30_000 });
const opa = new Pool(argValue('--opa'), { connections: 64, keepAliveTimeout: 30_000 });
const token = `Bearer ${argValue('--token')}`;
const CREDENTIALS = new Set(['authorization', 'proxy-authorization', 'cookie']);
const LANES: Record<string, string> = { read: 'Bearer bench-read-credential', write: 'Bearer bench-write-credential' };

const startedAt = Date.now();
const task = {
  id: 'task-bench',
  stage: 'execute',
  risk: 'low',
  user: { id: 'alice', roles: ['developer'] },
  scopes: ['github:write'],
  expires_at: new Date(startedAt + 3_600_000).toISOString(),
};
const agent = { id: 'bench', issuer: 'warden', claims: { sub: 'bench', tid: task.id, iss: 'warden', aud: 'warden' } };
let calls = 0;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res(Buffer.concat(chunks)));
    req.on('error', rej);
  });
}

function parseQuery(search: string): Record<string, string[]> {
  const q: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(search)) (q[k] ??= []).push(v);
  return q;
}

function mcpOf(body: unknown): Record<string, unknown> | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  if (b.jsonrpc !== '2.0' || typeof b.method !== 'string') return undefined;
  const params = (b.params ?? {}) as Record<string, unknown>;
  return { method: b.method, id: b.id, ...(b.method === 'tools/call' && { tool: params.name, arguments: params.arguments }) };
}

interface OpaAnswer {
  result?: { decision?: string; lane?: string; headers?: Record<string, string> };
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  void (async () => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const search = q < 0 ? '' : url.slice(q);
    const slash = rawPath.indexOf('/', 1);
    const upstreamName = rawPath.slice(1, slash);
    if (slash < 0 || (upstreamName !== 'github' && upstreamName !== 'tools')) {
      res.writeHead(404).end();
      return;
    }
    if (req.headers.authorization !== token) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="warden"' }).end();
      return;
    }
    const raw = await readBody(req);
    const contentType = req.headers['content-type'];
    let parsed: unknown = null;
    if (raw.length > 0 && contentType?.includes('json')) parsed = JSON.parse(raw.toString('utf8'));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || CREDENTIALS.has(k) || k === 'host' || k === 'connection' || k === 'content-length') continue;
      headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const path = rawPath.slice(slash);
    const now = Date.now();
    const mcp = mcpOf(parsed);
    const input = {
      request: {
        id: randomUUID(), method: req.method ?? 'GET', upstream: upstreamName, path, query: parseQuery(search), headers,
        body: parsed, body_digest: `sha256:${createHash('sha256').update(raw).digest('hex')}`,
        ...(contentType !== undefined && { content_type: contentType }), size: raw.length,
      },
      ...(mcp && { mcp }),
      agent,
      task: { ...task, usage: { calls, stage_calls: calls } },
      time: { now_ns: now * 1_000_000, rfc3339: new Date(now).toISOString() },
    };
    const answer = await opa.request({
      path: '/v1/data/warden/decision', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }),
    });
    const decision = ((await answer.body.json()) as OpaAnswer).result;
    if (answer.statusCode !== 200 || decision?.decision !== 'allow' || !decision.lane || !LANES[decision.lane]) {
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"error":"denied"}');
      return;
    }
    calls++;
    const fwd = forwardHeaders(req.headers);
    delete fwd.authorization;
    delete fwd['content-length'];
    Object.assign(fwd, decision.headers ?? {}, { authorization: LANES[decision.lane] });
    await upstream.stream(
      { path, method: req.method as 'GET', headers: fwd, body: raw.length > 0 ? raw : null },
      ({ statusCode, headers: h }) => {
        res.writeHead(statusCode, responseHeaders(h as Record<string, string | string[] | undefined>));
        return res;
      },
    );
  })().catch(() => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
});

announce(server);
