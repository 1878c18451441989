// The upstream every system forwards to: node:http answering a small JSON body on any path
// (request bodies are read and dropped). Reports its port over IPC.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = Buffer.from(JSON.stringify({
  total_count: 2,
  items: [
    { id: 1, number: 41, title: 'Flaky test in CI', state: 'open' },
    { id: 2, number: 42, title: 'Bump undici', state: 'open' },
  ],
}));

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const send = (): void => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  };
  if (req.method === 'GET' || req.method === 'HEAD') {
    req.resume();
    send();
  } else {
    req.on('data', () => undefined);
    req.on('end', send);
  }
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});
