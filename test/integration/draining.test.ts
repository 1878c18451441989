// Draining: once close() has begun, a request that still arrives on an open keep-alive connection
// is answered 503 SHUTTING_DOWN with `Connection: close` (README "shutting down"), recorded as
// one decision line and never forwarded, while the request in flight when close() began completes.

import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { compilePolicy } from '../helpers/policy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';
import { startWarden, type WardenHandle } from '../helpers/warden.js';

const ALLOW_ALL = `package warden
import rego.v1
decision := {"decision": "allow", "headers": {}}
`;

let upstream: TestUpstream | undefined;
let w: WardenHandle | undefined;
afterEach(async () => {
  await w?.close();
  await upstream?.close();
});

/** One keep-alive connection: write requests on it; `answers` resolves with all bytes once the server closes it. */
function connection(baseUrl: string): { connected: Promise<void>; send: (bytes: string) => void; answered: () => boolean; answers: Promise<string> } {
  const u = new URL(baseUrl);
  let out = '';
  let onConnect!: () => void;
  const connected = new Promise<void>((r) => (onConnect = r));
  const sock = connect(Number(u.port), u.hostname, () => onConnect());
  const answers = new Promise<string>((resolve, reject) => {
    sock.on('data', (d: Buffer) => (out += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => resolve(out));
  });
  return { connected, send: (bytes) => void sock.write(bytes), answered: () => out.length > 0, answers };
}

function decisionLines(h: WardenHandle): Record<string, unknown>[] {
  h.sidecar!.flushLogs();
  const text = readFileSync(h.logFile, 'utf8').trim();
  return text === '' ? [] : text.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.type === 'decision');
}

describe('draining', () => {
  it('answers 503 SHUTTING_DOWN with Connection: close to a request that arrives while draining', async () => {
    upstream = await startUpstream();
    const held = new Promise<ServerResponse>((resolve) => {
      upstream!.on('/held', (_req, res) => resolve(res));
    });
    const bundle = await compilePolicy(ALLOW_ALL);
    w = await startWarden({ bundle, upstreams: { api: { prefix: '/api', url: upstream.url } } });
    const { token } = await w.task();
    const req = (path: string) => `GET /api${path} HTTP/1.1\r\nhost: warden\r\nauthorization: Bearer ${token}\r\n\r\n`;
    const conn = connection(w.proxyUrl);
    await conn.connected;
    conn.send(req('/held'));
    const heldRes = await held; // the first request is at the upstream: in flight
    const closed = w.sidecar!.close();
    // The listener is closed now, but this connection is busy, so it stays open: a second request on it.
    conn.send(req('/after'));
    // Its answer queues behind the first one (HTTP/1.1 keeps the order); its decision line does
    // not. (Or, were it forwarded, the upstream would answer it once the first one is done.)
    await until(() => decisionLines(w!).length > 0 || conn.answered());
    heldRes.end('held done');
    const raw = await conn.answers;
    await closed;

    const parts = raw.split(/(?=HTTP\/1\.1 )/);
    expect(parts).toHaveLength(2);
    expect(parts[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(parts[0]).toContain('held done');
    expect(parts[1]).toMatch(/^HTTP\/1\.1 503 /);
    expect(parts[1]).toMatch(/\r\nconnection: close\r\n/i);
    const body = JSON.parse(parts[1]!.slice(parts[1]!.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    const decisionId = /\r\nwarden-decision-id: ([^\r]+)\r\n/i.exec(parts[1]!)![1];
    expect(body).toEqual({ error: 'SHUTTING_DOWN', message: 'warden is shutting down', decision_id: decisionId });
    expect(upstream.seen.map((s) => s.url)).toEqual(['/held']);

    const lines = decisionLines(w);
    expect(lines.map((l) => [l.outcome, l.status, l.error])).toEqual([
      ['error', 503, 'SHUTTING_DOWN'],
      ['allow', 200, undefined],
    ]);
    expect(lines[0]!.decision_id).toBe(decisionId);
  });
});
