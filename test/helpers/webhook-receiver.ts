// A real approval-webhook receiver on 127.0.0.1 port 0. It records every delivery attempt (raw
// body, headers, whether `Warden-Signature` verified with the exported verifySignature) and
// answers as the test says: an immediate approve or deny, 202 (decide later), a 5xx, a delay.
// A delivery with a bad signature is refused with 401, as a real receiver would.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../../src/stepup/signature.js';

export interface ReceivedEvent {
  readonly raw: string;
  readonly body: any;
  readonly headers: IncomingHttpHeaders;
  readonly verified: boolean;
  readonly at: number;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  /** Wait this long before answering. */
  readonly delayMs?: number;
}

export type Replier = Reply | ((e: ReceivedEvent) => Reply);

export const accept = (): Reply => ({ status: 202, body: { accepted: true } });
export const approveAt = (approver: string, reason?: string): Reply => ({ status: 200, body: { decision: 'approve', approver, ...(reason !== undefined && { reason }) } });
export const denyAt = (approver: string, reason: string): Reply => ({ status: 200, body: { decision: 'deny', approver, reason } });
export const fail = (status = 500): Reply => ({ status, body: { error: 'receiver failure' } });

export interface WebhookReceiver {
  readonly url: string;
  readonly events: ReceivedEvent[];
  /** How later deliveries are answered (default: 202). */
  reply(r: Replier): void;
  /** Deliveries of `approval.requested` for this approval id (retries included). */
  forApproval(id: string): ReceivedEvent[];
  /** Resolves once at least `n` deliveries arrived, or rejects after `ms`. */
  waitFor(n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string, initial: Replier = accept()): Promise<WebhookReceiver> {
  const events: ReceivedEvent[] = [];
  let replier: Replier = initial;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const verified = verifySignature(secret, req.headers['warden-signature'] as string | undefined, raw);
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const e: ReceivedEvent = { raw, body, headers: { ...req.headers }, verified, at: Date.now() };
      events.push(e);
      const r: Reply = !verified ? { status: 401, body: { error: 'bad signature' } } : typeof replier === 'function' ? replier(e) : replier;
      const send = (): void => {
        const text = r.body === undefined ? '' : JSON.stringify(r.body);
        res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (r.delayMs) setTimeout(send, r.delayMs);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    events,
    reply: (r) => {
      replier = r;
    },
    forApproval: (id) => events.filter((e) => e.body?.approval?.id === id),
    async waitFor(n, ms = 5000) {
      const until = Date.now() + ms;
      while (events.length < n) {
        if (Date.now() > until) throw new Error(`webhook receiver: ${events.length} of ${n} deliveries after ${ms} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
