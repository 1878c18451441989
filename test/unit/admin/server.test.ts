// The admin listener on its own, a real server on port 0 with route functions of the test: what
// needs no token, the bearer rule and its two challenges, the origin check first on every path,
// the request a route is handed, the coded answers (bad JSON, too large, not found, a route's own
// error, an internal failure that is logged and not echoed), and the read-only mode of a fleet
// sidecar.

import type { Server } from 'node:http';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdminServer, type AdminDeps } from '../../../src/admin/server.js';
import type { AdminRequest, AdminRoute } from '../../../src/admin/route.js';
import { WardenError } from '../../../src/errors.js';
import { listen } from '../../helpers/listen.js';

const TOKEN = 'admin-unit-token-0123456789abcdef';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Admin {
  url: string;
  /** Requests the routes were handed. */
  seen: AdminRequest[];
  /** Lines the ops logger wrote. */
  ops: Record<string, unknown>[];
  call(method: string, path: string, opts?: { token?: string | null; authorization?: string; body?: string; origin?: string }): Promise<{ status: number; headers: Headers; body: any }>;
}

async function admin(over: Partial<AdminDeps> = {}, routes: AdminRoute[] = []): Promise<Admin> {
  const seen: AdminRequest[] = [];
  const ops: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void ops.push(JSON.parse(line)) });
  const echo: AdminRoute = (req) => (req.segments[1] === 'echo' ? { status: 200, body: { method: req.method, path: req.path, segments: req.segments, query: Object.fromEntries(req.query), body: req.body ?? null } } : undefined);
  const record: AdminRoute = (req) => void seen.push(req);
  const server: Server = createAdminServer({
    token: TOKEN,
    routes: [record, ...routes, echo],
    ready: () => ({ ready: true, revision: 'rev-1' }),
    metrics: { render: async () => 'warden_up 1\n', contentType: 'text/plain; version=0.0.4; charset=utf-8' },
    ops: logger,
    allowedOrigins: new Set(['https://console.example']),
    ...over,
  });
  const { url, close } = await listen(server);
  cleanups.push(close);
  return {
    url,
    seen,
    ops,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = {};
      const token = opts.token === undefined ? TOKEN : opts.token;
      if (opts.authorization !== undefined) headers.authorization = opts.authorization;
      else if (token !== null) headers.authorization = `Bearer ${token}`;
      if (opts.origin) headers.origin = opts.origin;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(url + path, { method, headers, ...(opts.body !== undefined && { body: opts.body }) });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // the metrics text
      }
      return { status: res.status, headers: res.headers, body };
    },
  };
}

describe('admin listener', () => {
  it('answers health, ready and metrics without a token, never cached', async () => {
    const a = await admin();
    const health = await a.call('GET', '/health', { token: null });
    expect([health.status, health.body, health.headers.get('cache-control')]).toEqual([200, { status: 'ok' }, 'no-store']);
    expect(await a.call('GET', '/ready', { token: null })).toMatchObject({ status: 200, body: { status: 'ready', revision: 'rev-1' } });
    const metrics = await a.call('GET', '/metrics', { token: null });
    expect([metrics.status, metrics.body, metrics.headers.get('content-type')]).toEqual([200, 'warden_up 1\n', 'text/plain; version=0.0.4; charset=utf-8']);
    expect(a.seen).toEqual([]);
  });

  it('answers ready 503 with the reason and the bundle service status when not ready', async () => {
    const a = await admin({ ready: () => ({ ready: false, reason: 'no policy loaded', bundle_service: { last_error: 'HTTP 500' } }) });
    expect(await a.call('GET', '/ready', { token: null })).toMatchObject({ status: 503, body: { status: 'not_ready', reason: 'no policy loaded', bundle_service: { last_error: 'HTTP 500' } } });
  });

  it('serves the assertion JWKS without a token only when it has one', async () => {
    const keys = { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'abc', kid: 'k1' }] };
    const a = await admin({ jwks: async () => keys });
    const r = await a.call('GET', '/.well-known/jwks.json', { token: null });
    expect([r.status, r.body, r.headers.get('content-type')]).toEqual([200, keys, 'application/jwk-set+json']);
    const without = await admin();
    expect((await without.call('GET', '/.well-known/jwks.json', { token: null })).status).toBe(401);
  });

  it.each([
    ['no Authorization header', null, undefined, 'Bearer realm="warden-admin"'],
    ['another scheme', null, `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, 'Bearer realm="warden-admin"'],
    ['an empty bearer token', null, 'Bearer ', 'Bearer realm="warden-admin", error="invalid_token"'],
    ['a wrong token', 'x'.repeat(TOKEN.length), undefined, 'Bearer realm="warden-admin", error="invalid_token"'],
    ['the token with a suffix', `${TOKEN}x`, undefined, 'Bearer realm="warden-admin", error="invalid_token"'],
    ['a token with an inner space', null, `Bearer ${TOKEN.slice(0, 8)} ${TOKEN.slice(8)}`, 'Bearer realm="warden-admin", error="invalid_token"'],
  ])('refuses /v1 with %s: 401 ADMIN_UNAUTHORIZED, the route never runs', async (_what, token, authorization, challenge) => {
    const a = await admin();
    const r = await a.call('GET', '/v1/echo', { token, ...(authorization !== undefined && { authorization }) });
    expect(r).toMatchObject({ status: 401, body: { error: 'ADMIN_UNAUTHORIZED', message: 'the admin token is missing or wrong' } });
    expect(r.headers.get('www-authenticate')).toBe(challenge);
    expect(a.seen).toEqual([]);
  });

  it('hands a route the method, path, segments, query and parsed body; any case of the scheme is fine', async () => {
    const a = await admin();
    const r = await a.call('PATCH', '/v1/echo/a%20b/?x=1&y=2', { authorization: `bEaReR \t${TOKEN}`, body: '{"stage":"execute"}' });
    expect(r).toEqual({ status: 200, headers: expect.anything(), body: { method: 'PATCH', path: '/v1/echo/a%20b/', segments: ['v1', 'echo', 'a%20b'], query: { x: '1', y: '2' }, body: { stage: 'execute' } } });
    const empty = await a.call('POST', '/v1/echo', { body: '' });
    expect(empty.body.body).toBeNull();
  });

  it('tries routes in order: the first that answers wins', async () => {
    const a = await admin({}, [(req) => (req.path === '/v1/echo/first' ? { status: 202, body: { by: 'first' } } : undefined)]);
    expect(await a.call('GET', '/v1/echo/first')).toMatchObject({ status: 202, body: { by: 'first' } });
    expect(await a.call('GET', '/v1/echo/other')).toMatchObject({ status: 200, body: { path: '/v1/echo/other' } });
  });

  it.each([
    ['a body that is not JSON', '{"stage":', 400, 'ADMIN_BAD_REQUEST', 'body is not valid JSON'],
    ['a body over 256 KiB', JSON.stringify({ pad: 'x'.repeat(256 * 1024) }), 400, 'ADMIN_BAD_REQUEST', 'body too large'],
  ])('refuses %s before any route runs', async (_what, body, status, error, message) => {
    const a = await admin();
    expect(await a.call('POST', '/v1/echo', { body })).toMatchObject({ status, body: { error, message } });
    expect(a.seen).toEqual([]);
  });

  it('answers 404 ADMIN_NOT_FOUND naming the method and path when no route answers', async () => {
    const a = await admin();
    expect(await a.call('DELETE', '/v1/nothing/here?x=1')).toMatchObject({ status: 404, body: { error: 'ADMIN_NOT_FOUND', message: 'DELETE /v1/nothing/here' } });
  });

  it('answers a route\'s coded error with its status; an internal failure is logged and answered 500 without its text', async () => {
    const a = await admin({}, [
      (req) => {
        if (req.path === '/v1/conflict') throw new WardenError('APPROVAL_CONFLICT', 'approval is denied');
        if (req.path === '/v1/bug') throw new Error('SQLITE_CORRUPT: /var/lib/warden/state/warden.db');
        return undefined;
      },
    ]);
    expect(await a.call('POST', '/v1/conflict')).toMatchObject({ status: 409, body: { error: 'APPROVAL_CONFLICT', message: 'approval is denied' } });
    expect(a.ops).toEqual([]);
    const bug = await a.call('POST', '/v1/bug');
    expect(bug).toMatchObject({ status: 500, body: { error: 'INTERNAL', message: 'internal error' } });
    expect(JSON.stringify(bug.body)).not.toContain('SQLITE');
    expect(a.ops).toEqual([expect.objectContaining({ level: 50, msg: 'admin request failed', err: expect.objectContaining({ message: 'SQLITE_CORRUPT: /var/lib/warden/state/warden.db' }) })]);
  });

  it.each([
    ['/health', 'GET'],
    ['/metrics', 'GET'],
    ['/v1/echo', 'POST'],
    ['/console/', 'GET'],
  ])('refuses a foreign browser origin first, on %s, even with the token', async (path, method) => {
    const a = await admin({ console: async (_req, res) => void res.end('console') });
    expect(await a.call(method, path, { origin: 'https://evil.example' })).toMatchObject({ status: 403, body: { error: 'ORIGIN_REFUSED' } });
    expect(a.seen).toEqual([]);
  });

  it('accepts a loopback origin and an allowed one', async () => {
    const a = await admin();
    expect((await a.call('GET', '/health', { origin: 'http://localhost:3000' })).status).toBe(200);
    expect((await a.call('GET', '/v1/echo', { origin: 'https://console.example' })).status).toBe(200);
  });

  it('sends every /console path, and only those, to the console without asking for the bearer token', async () => {
    const paths: string[] = [];
    const a = await admin({ console: async (req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end(`console ${paths.push(req.url!)}`) });
    expect(await a.call('GET', '/console', { token: null })).toMatchObject({ status: 200, body: 'console 1' });
    expect(await a.call('POST', '/console/approvals/a1/approve', { token: null })).toMatchObject({ status: 200, body: 'console 2' });
    expect((await a.call('GET', '/consoles', { token: null })).status).toBe(401);
    expect(paths).toEqual(['/console', '/console/approvals/a1/approve']);
  });

  describe('read-only (admin.write_api: false)', () => {
    it('keeps reads and POST /v1/check, refuses every other write with ADMIN_READ_ONLY (403) after the token check', async () => {
      const a = await admin({ writeApi: false, console: async (_req, res) => void res.end('console') }, [(req) => (req.path === '/v1/check' ? { status: 200, body: { decision: 'allow' } } : undefined)]);
      expect((await a.call('GET', '/v1/echo')).status).toBe(200);
      expect((await a.call('HEAD', '/v1/echo')).status).toBe(200);
      expect(await a.call('POST', '/v1/check', { body: '{}' })).toMatchObject({ status: 200, body: { decision: 'allow' } });
      for (const method of ['POST', 'PATCH', 'DELETE', 'PUT']) {
        expect(await a.call(method, '/v1/echo')).toMatchObject({ status: 403, body: { error: 'ADMIN_READ_ONLY', message: `${method} /v1/echo: admin.write_api is false` } });
      }
      expect((await a.call('POST', '/v1/tasks', { token: 'wrong-token' })).status).toBe(401);
      expect(await a.call('GET', '/console/', { token: null })).toMatchObject({ status: 403, body: { error: 'ADMIN_READ_ONLY', message: 'the approver console is served by the control plane' } });
      expect(a.seen.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/echo', 'HEAD /v1/echo', 'POST /v1/check']);
    });
  });
});
