// A real OTLP/HTTP trace receiver on 127.0.0.1 port 0: accepts `POST /v1/traces` in either encoding
// of the protocol, binary protobuf (`application/x-protobuf`, what Warden sends) or JSON, and keeps
// every span with its resource.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { decodeTraceRequest } from './otlp-decode.js';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
  traceState?: string;
  service: unknown;
}

export interface TestOtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** The size in bytes of each export received, in arrival order. */
  readonly exports: number[];
  waitFor(pred: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
const value = (v: AnyValue): unknown => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.boolValue ?? v.doubleValue);
const attrs = (list: { key: string; value: AnyValue }[] = []): Record<string, unknown> => Object.fromEntries(list.map((a) => [a.key, value(a.value)]));

export async function startOtlpReceiver(): Promise<TestOtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const exports: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      exports.push(body.length);
      if (req.headers['content-type'] === 'application/x-protobuf') {
        spans.push(...decodeTraceRequest(body));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        return;
      }
      const doc = JSON.parse(body.toString('utf8'));
      for (const rs of doc.resourceSpans ?? []) {
        const service = attrs(rs.resource?.attributes)['service.name'];
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({ ...s, parentSpanId: s.parentSpanId || undefined, attributes: attrs(s.attributes), status: s.status ?? {}, service });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    spans,
    exports,
    async waitFor(pred, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred(spans)) {
        if (Date.now() > deadline) throw new Error(`OTLP receiver: condition not met with ${spans.length} spans`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
