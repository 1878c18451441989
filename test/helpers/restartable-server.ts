// An HTTP server on 127.0.0.1 that can be stopped and started again on the same port: a real
// outage (connections refused) for the clients of a bundle server or a log collector.

import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RestartableServer {
  /** `http://127.0.0.1:<port>`, set by the first start(). */
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function restartableServer(handler: RequestListener): RestartableServer {
  let server: Server | undefined;
  let port = 0;
  const s = {
    url: '',
    async start() {
      const srv = createServer(handler);
      server = srv;
      await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
      port = (srv.address() as AddressInfo).port;
      s.url = `http://127.0.0.1:${port}`;
    },
    async stop() {
      const srv = server;
      if (!srv) return;
      await new Promise<void>((r) => {
        srv.close(() => r());
        srv.closeAllConnections();
      });
    },
  };
  return s;
}
