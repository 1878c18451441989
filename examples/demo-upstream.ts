// A small demo of the two downstreams the example policy knows: a GitHub-like REST API and an MCP
// tool server. Both echo what they received, including which credential header Warden injected
// (by its first characters only), so the quick start shows the lane at work.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res(Buffer.concat(chunks).toString('utf8')));
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const credentialHint = (req: IncomingMessage): string => String(req.headers.authorization ?? 'none').slice(0, 12) + '...';

export interface GithubLikeOptions {
  /** RFC 7662 introspection at the authorization server: a just-in-time token is shown by whose it is. */
  readonly introspect?: (token: string) => Promise<Record<string, unknown>>;
}

export function githubLike(opts: GithubLikeOptions = {}): Server {
  return createServer((req, res) => {
    void readBody(req).then(async (body) => {
      const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
      const info = bearer && opts.introspect ? await opts.introspect(bearer).catch(() => undefined) : undefined;
      const token = info?.active ? { sub: info.sub, act: info.act, scope: info.scope, aud: info.aud } : undefined;
      json(res, req.method === 'POST' ? 201 : 200, { api: 'github-like', method: req.method, path: req.url, received_body: body ? JSON.parse(body) : null, credential: credentialHint(req), ...(token && { token }) });
    });
  });
}

export function mcpLike(): Server {
  return createServer((req, res) => {
    void readBody(req).then((body) => {
      let msg: { id?: unknown; method?: string; params?: { name?: string } } = {};
      try {
        msg = JSON.parse(body);
      } catch {
        return json(res, 400, { error: 'not JSON' });
      }
      const result = msg.method === 'tools/list'
        ? { tools: [{ name: 'search_code' }, { name: 'create_issue' }, { name: 'delete_branch' }] }
        : { content: [{ type: 'text', text: `ran ${msg.params?.name ?? msg.method}` }], credential: credentialHint(req) };
      json(res, 200, { jsonrpc: '2.0', id: msg.id ?? null, result });
    });
  });
}

export function listen(server: Server, port: number): Promise<void> {
  return new Promise((r) => server.listen(port, '127.0.0.1', () => r()));
}
