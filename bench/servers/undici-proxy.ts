// System (2): the limit for a Node proxy. node:http server + undici Pool.stream, no policy.
// Usage: undici-proxy.ts --upstream http://127.0.0.1:PORT

import { createServer } from 'node:http';
import { Pool } from 'undici';
import { announce, argValue, forwardHeaders, responseHeaders, stripPrefix } from './forward.js';

const pool = new Pool(argValue('--upstream'), { connections: 64, keepAliveTimeout: 30_000 });

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const path = stripPrefix(req.url ?? '/');
  if (path === undefined) {
    res.writeHead(404).end();
    return;
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  pool
    .stream(
      { path, method: req.method as 'GET', headers: forwardHeaders(req.headers), body: hasBody ? req : null },
      ({ statusCode, headers }) => {
        res.writeHead(statusCode, responseHeaders(headers as Record<string, string | string[] | undefined>));
        return res;
      },
    )
    .catch(() => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
});

announce(server);
