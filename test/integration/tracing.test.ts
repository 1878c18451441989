// OpenTelemetry traces through a running Warden to a real OTLP/HTTP receiver on port 0: one trace
// per request, continuing the agent's W3C traceparent (MCP params._meta first), with the phases
// of the request as child spans; flushed at shutdown.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type ReceivedSpan, type TestOtlpReceiver } from '../helpers/otlp-receiver.js';
import { compilePolicy } from '../helpers/policy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startWarden, type WardenHandle } from '../helpers/warden.js';

const POLICY = `package warden
import rego.v1
default decision := {"decision": "deny", "reason": "not a read"}
decision := {"decision": "allow", "headers": {}} if input.request.method in {"GET", "POST"}
`;

let receiver: TestOtlpReceiver;
let upstream: TestUpstream;
let w: WardenHandle;
let token: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  upstream = await startUpstream();
  w = await startWarden({
    bundle: await compilePolicy(POLICY),
    upstreams: { api: { prefix: '/api', url: upstream.url }, tools: { prefix: '/tools', url: upstream.url } },
    config: { tracing: { otlp_url: `${receiver.url}/v1/traces`, service_name: 'warden-test', export_delay: '50ms' } },
  });
  token = (await w.task()).token;
});
afterAll(async () => {
  await w?.close();
  await upstream?.close();
  await receiver?.close();
});

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const traceparent = () => {
  const traceId = hex(16);
  const spanId = hex(8);
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
};

const rootsOf = (spans: ReceivedSpan[], traceId: string) => spans.filter((s) => s.traceId === traceId && s.name === 'warden.request');
const childrenOf = (spans: ReceivedSpan[], root: ReceivedSpan) => spans.filter((s) => s.parentSpanId === root.spanId).map((s) => s.name);

describe('tracing (OTLP/HTTP)', () => {
  it('sends one trace per request with the agent traceparent as parent and a span per phase', async () => {
    const agents = Array.from({ length: 20 }, traceparent);
    const answers = await Promise.all(agents.map((a) => fetch(`${w.proxyUrl}/api/items`, { headers: { authorization: `Bearer ${token}`, traceparent: a.header } })));
    expect(answers.map((r) => r.status)).toEqual(agents.map(() => 200));
    await Promise.all(answers.map((r) => r.arrayBuffer()));
    await receiver.waitFor((spans) => agents.every((a) => rootsOf(spans, a.traceId).length === 1));
    for (const [i, a] of agents.entries()) {
      const [root] = rootsOf(receiver.spans, a.traceId);
      expect(root).toMatchObject({ parentSpanId: a.spanId, kind: 2, service: 'warden-test', attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'warden.outcome': 'allow', 'warden.upstream': 'api', 'warden.decision_id': answers[i]!.headers.get('warden-decision-id') } });
      expect(childrenOf(receiver.spans, root!)).toEqual(['route', 'identify', 'evaluate', 'forward']);
    }
  });

  it('takes the trace context of an MCP call from params._meta over the header', async () => {
    const header = traceparent();
    const meta = traceparent();
    const body = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search', arguments: {}, _meta: { traceparent: meta.header } } };
    const res = await fetch(`${w.proxyUrl}/tools/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token}`, traceparent: header.header, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(body) });
    await res.arrayBuffer();
    await receiver.waitFor((spans) => rootsOf(spans, meta.traceId).length === 1);
    expect(rootsOf(receiver.spans, meta.traceId)[0]!.parentSpanId).toBe(meta.spanId);
    expect(rootsOf(receiver.spans, header.traceId)).toHaveLength(0);
  });

  it('traces a refused request too, without a forward span, and marks a failed identify', async () => {
    const denied = traceparent();
    const anonymous = traceparent();
    await (await fetch(`${w.proxyUrl}/api/items`, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, traceparent: denied.header } })).arrayBuffer();
    await (await fetch(`${w.proxyUrl}/api/items`, { headers: { traceparent: anonymous.header } })).arrayBuffer();
    await receiver.waitFor((spans) => rootsOf(spans, denied.traceId).length === 1 && rootsOf(spans, anonymous.traceId).length === 1);
    const d = rootsOf(receiver.spans, denied.traceId)[0]!;
    expect(d.attributes).toMatchObject({ 'warden.outcome': 'deny', 'http.response.status_code': 403 });
    expect(childrenOf(receiver.spans, d)).toEqual(['route', 'identify', 'evaluate']);
    const a = rootsOf(receiver.spans, anonymous.traceId)[0]!;
    expect(a.attributes).toMatchObject({ 'error.type': 'TOKEN_MISSING', 'http.response.status_code': 401 });
    expect(a.status.code).toBe(2);
    const identify = receiver.spans.find((s) => s.parentSpanId === a.spanId && s.name === 'identify')!;
    expect(identify.status.code).toBe(2);
  });

  it('starts a new trace for a request without traceparent', async () => {
    const res = await fetch(`${w.proxyUrl}/api/fresh`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    const id = res.headers.get('warden-decision-id');
    await receiver.waitFor((spans) => spans.some((s) => s.attributes['warden.decision_id'] === id));
    const root = receiver.spans.find((s) => s.attributes['warden.decision_id'] === id)!;
    expect(root.parentSpanId).toBeUndefined();
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
