// Shared pieces of the step-up unit tests: a temporary state dir and a real webhook receiver
// on 127.0.0.1 port 0 that verifies signatures and records every delivery.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import type { CallBinding } from '../../../src/stepup/binding.js';
import { verifySignature } from '../../../src/stepup/signature.js';
import type { RequestSummary } from '../../../src/stepup/summary.js';

export const SECRET = 'test-webhook-secret-0123456789';

export function tempStateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-stepup-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Delivery {
  headers: IncomingHttpHeaders;
  raw: string;
  event: Record<string, unknown>;
  signatureValid: boolean;
}

export interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** Every request, counted before the answer, including refused ones. */
  hits: number;
  server: Server;
}

export type Answer = { status: number; body?: unknown; delayMs?: number };

/** A receiver whose answer to the n-th hit (1-based) is `answer(n, delivery)`. */
export async function startReceiver(answer: (n: number, d: Delivery) => Answer | Promise<Answer>): Promise<Receiver> {
  const r: Receiver = { url: '', deliveries: [], hits: 0, server: undefined as unknown as Server };
  r.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const d: Delivery = {
        headers: req.headers,
        raw,
        event: JSON.parse(raw) as Record<string, unknown>,
        signatureValid: verifySignature(SECRET, req.headers['warden-signature'] as string, raw),
      };
      r.hits++;
      r.deliveries.push(d);
      void Promise.resolve(answer(r.hits, d)).then(async (a) => {
        if (a.delayMs) await new Promise((ok) => setTimeout(ok, a.delayMs));
        res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body === undefined ? '' : JSON.stringify(a.body));
      });
    });
  });
  await new Promise<void>((ok) => r.server.listen(0, '127.0.0.1', ok));
  onTestFinished(() => new Promise<void>((ok) => r.server.close(() => ok())));
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hook`;
  return r;
}

/** A URL on which nothing listens: a port that was just bound and released. */
export async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return `http://127.0.0.1:${port}/hook`;
}

/** An HTTP binding with the fields tests set always present. */
export type HttpCallBinding = Omit<CallBinding, 'mcp' | 'query' | 'body_digest'> & { query: Record<string, string[]>; body_digest: string };

export function httpBinding(over: Partial<HttpCallBinding> = {}): HttpCallBinding {
  return {
    task_id: 'task-1',
    agent_id: 'agent-1',
    upstream: 'github',
    method: 'POST',
    path: '/repos/acme/app/merges',
    query: {},
    body_digest: 'sha256:' + 'a'.repeat(64),
    ...over,
  };
}

export function summaryOf(b: HttpCallBinding): RequestSummary {
  return { task_id: b.task_id, agent_id: b.agent_id, upstream: b.upstream, method: b.method, path: b.path, query: b.query, body_digest: b.body_digest, size: 12 };
}
