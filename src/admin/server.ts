// The admin listener: health, ready and metrics without a token; the console (/console/) behind
// its own sign-in and session; everything under /v1 behind the bearer admin token, compared in
// constant time. A browser `Origin` that is neither loopback nor allowed is refused first, on
// every path (DNS rebinding, as on the proxy listener). Route modules throw coded errors; this
// file maps them to answers.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ERRORS, WardenError, toWardenError } from '../errors.js';
import { parseBearer } from '../identity/bearer.js';
import { safeEqual } from './auth.js';
import type { Metrics } from '../observability/metrics.js';
import { readBody } from './read-body.js';
import { requestOriginAllowed } from '../mcp/origin.js';
import type { AdminRequest, AdminResponse, AdminRoute } from './route.js';

export interface AdminDeps {
  readonly token: string;
  readonly routes: readonly AdminRoute[];
  readonly ready: () => { ready: boolean; revision?: string; reason?: string; bundle_service?: object | undefined };
  readonly metrics: Pick<Metrics, 'render' | 'contentType'>;
  /** Public keys of Warden's signed assertions (token exchange), served at /.well-known/jwks.json. */
  readonly jwks?: () => Promise<unknown>;
  readonly ops: Logger;
  /**
   * false (`admin.write_api: false`, a fleet sidecar): health, ready, metrics, the JWKS and the
   * reads of /v1 (and `POST /v1/check`, which changes nothing) stay; every other write and the
   * approver console are refused with ADMIN_READ_ONLY. Default true.
   */
  readonly writeApi?: boolean;
  /** The approver console: every /console path, authenticated by its own session, not the bearer token. */
  readonly console?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Browser origins allowed besides loopback ones (normalised: src/mcp/origin.ts). */
  readonly allowedOrigins: ReadonlySet<string>;
}

const MAX_ADMIN_BODY = 256 * 1024;

function send(res: ServerResponse, r: AdminResponse): void {
  const body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  res.writeHead(r.status, { 'content-type': typeof r.body === 'string' ? 'text/plain; version=0.0.4' : 'application/json', 'cache-control': 'no-store', ...r.headers });
  res.end(body);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req, MAX_ADMIN_BODY);
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new WardenError('ADMIN_BAD_REQUEST', 'body is not valid JSON');
  }
}

export function createAdminServer(deps: AdminDeps): Server {
  return createServer((req, res) => {
    void handle(deps, req, res).catch((err: unknown) => {
      const e = toWardenError(err);
      // An internal failure's text (a file path, a driver message) goes to the ops log, not the caller.
      const internal = e.code === 'INTERNAL';
      if (internal) deps.ops.error({ err }, 'admin request failed');
      send(res, { status: e.status, body: { error: e.code, message: internal ? ERRORS.INTERNAL.message : (e.detail ?? e.message) } });
    });
  });
}

async function handle(deps: AdminDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  const method = req.method ?? 'GET';
  if (!requestOriginAllowed(req.headers, deps.allowedOrigins)) throw new WardenError('ORIGIN_REFUSED');
  if (method === 'GET' && url.pathname === '/health') return send(res, { status: 200, body: { status: 'ok' } });
  if (method === 'GET' && url.pathname === '/ready') {
    const r = deps.ready();
    return send(res, { status: r.ready ? 200 : 503, body: { status: r.ready ? 'ready' : 'not_ready', revision: r.revision, reason: r.reason, bundle_service: r.bundle_service } });
  }
  if (method === 'GET' && url.pathname === '/metrics') return send(res, { status: 200, body: await deps.metrics.render(), headers: { 'content-type': deps.metrics.contentType } });
  if (method === 'GET' && url.pathname === '/.well-known/jwks.json' && deps.jwks) return send(res, { status: 200, body: await deps.jwks(), headers: { 'content-type': 'application/jwk-set+json' } });
  const readOnly = deps.writeApi === false;
  if (deps.console && (url.pathname === '/console' || url.pathname.startsWith('/console/'))) {
    // The console exists to decide approvals: a read-only listener leaves it to the control plane.
    if (readOnly) throw new WardenError('ADMIN_READ_ONLY', 'the approver console is served by the control plane');
    return deps.console(req, res);
  }

  // One bearer rule with the proxy (src/identity/bearer.ts): no credentials get the bare
  // challenge; an empty, malformed or wrong token gets `error="invalid_token"` (RFC 6750).
  const bearer = parseBearer(req.headers.authorization);
  if (bearer.kind !== 'token' || !safeEqual(bearer.token, deps.token)) {
    const challenge = bearer.kind === 'missing' ? 'Bearer realm="warden-admin"' : 'Bearer realm="warden-admin", error="invalid_token"';
    return send(res, { status: 401, body: { error: 'ADMIN_UNAUTHORIZED', message: 'the admin token is missing or wrong' }, headers: { 'www-authenticate': challenge } });
  }
  if (readOnly && isWrite(method, url.pathname)) throw new WardenError('ADMIN_READ_ONLY', `${method} ${url.pathname}: admin.write_api is false`);
  const request: AdminRequest = { method, path: url.pathname, segments: url.pathname.split('/').filter(Boolean), query: url.searchParams, body: await readJson(req) };
  for (const route of deps.routes) {
    const answer = await route(request);
    if (answer) return send(res, answer);
  }
  throw new WardenError('ADMIN_NOT_FOUND', `${method} ${url.pathname}`);
}

/** Changes state: any method but GET and HEAD, except `POST /v1/check` (a decision, nothing stored). */
function isWrite(method: string, path: string): boolean {
  if (method === 'GET' || method === 'HEAD') return false;
  return !(method === 'POST' && path === '/v1/check');
}
