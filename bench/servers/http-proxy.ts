// System (3): a bare http-proxy forwarding proxy, no policy. The `error` handler is required:
// without it http-proxy throws on an upstream error and the process dies.
// Usage: http-proxy.ts --upstream http://127.0.0.1:PORT

import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';
import { announce, argValue, stripPrefix } from './forward.js';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const proxy = httpProxy.createProxyServer({ target: argValue('--upstream'), agent, xfwd: false });
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502).end();
  else res.destroy();
});

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const path = stripPrefix(req.url ?? '/');
  if (path === undefined) {
    res.writeHead(404).end();
    return;
  }
  req.url = path;
  proxy.web(req, res);
});

announce(server);
