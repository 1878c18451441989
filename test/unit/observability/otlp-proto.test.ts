// Warden's hand-written OTLP/protobuf encoder against the OpenTelemetry SDK's own serializer: the
// same spans, encoded by both, decode to the same fields (so a wrong field number, wire type or
// time conversion here fails), and the times are the exact nanoseconds of the recorded milliseconds.

import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { encodeTraces, TraceBatch } from '../../../src/observability/otlp-proto.js';
import type { PhaseName, PhaseTimes } from '../../../src/observability/phases.js';
import { PackedRequest, TracePacker, type TraceRecord } from '../../../src/observability/trace-pack.js';
import { createRing, RingReader, RingWriter } from '../../../src/service/spsc-ring.js';
import { decodeTraceRequest } from '../../helpers/otlp-decode.js';
import type { ReceivedSpan } from '../../helpers/otlp-receiver.js';

const T0 = 1_764_680_000_123.4567;
interface Phase { name: PhaseName; startMs: number; endMs: number | undefined; failed: boolean }
const phase = (name: PhaseName, startMs: number, endMs: number | undefined, failed = false): Phase => ({ name, startMs, endMs, failed });
/** The phases as the request path records them (Phases): names, and start, end (NaN: open), failed. */
const recorded = (list: Phase[]): PhaseTimes => ({ names: list.map((p) => p.name), times: list.flatMap((p) => [p.startMs, p.endMs ?? NaN, p.failed ? 1 : 0]) });
const FIRST = [phase('route', T0 + 0.01, T0 + 0.02), phase('identify', T0 + 0.02, T0 + 0.5), phase('evaluate', T0 + 0.5, T0 + 0.51), phase('forward', T0 + 0.51, T0 + 3.2)];

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const BATCH: TraceRecord[] = [
  {
    startMs: T0, endMs: T0 + 3.25, method: 'GET', status: 200, decisionId: 'd-1', outcome: 'allow', upstream: 'github', error: undefined,
    parent: `00-${TRACE_ID}-${SPAN_ID}-01`, traceState: 'vendor=a,other=b',
    phases: recorded(FIRST),
  },
  {
    startMs: T0 + 999.9999996, endMs: T0 + 1001, method: 'POST', status: 401, decisionId: 'x'.repeat(200), outcome: 'error', upstream: 'äpi-ünicode', error: 'TOKEN_MISSING', parent: undefined, traceState: undefined,
    // identify never ended (it threw): not marked failed, and exported as an error all the same.
    phases: recorded([phase('route', T0 + 1000, T0 + 1000.1), phase('identify', T0 + 1000.1, undefined)]),
  },
];

const nanos = (ms: number): string => {
  let whole = Math.floor(ms);
  let frac = Math.round((ms - whole) * 1e6);
  if (frac === 1e6) [whole, frac] = [whole + 1, 0];
  return String(BigInt(whole) * 1_000_000n + BigInt(frac));
};

const hrTime = (ns: string): [number, number] => [Number(BigInt(ns) / 1_000_000_000n), Number(BigInt(ns) % 1_000_000_000n)];

/** The decoded spans as SDK ReadableSpans, for the SDK's serializer. */
function asSdkSpans(spans: ReceivedSpan[]): Parameters<typeof ProtobufTraceSerializer.serializeRequest>[0] {
  const resource = { attributes: { 'service.name': 'warden-test' } };
  return spans.map((s) => ({
    name: s.name, kind: s.kind - 1,
    spanContext: () => ({ traceId: s.traceId, spanId: s.spanId, traceFlags: 0, ...(s.traceState && { traceState: new TraceState(s.traceState) }) }),
    ...(s.parentSpanId && { parentSpanContext: { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: 0 } }),
    startTime: hrTime(s.startTimeUnixNano), endTime: hrTime(s.endTimeUnixNano), duration: [0, 0], ended: true,
    status: { code: s.status.code ?? 0, ...(s.status.message && { message: s.status.message }) }, attributes: s.attributes as Record<string, string | number>,
    links: [], events: [], resource, instrumentationScope: { name: 'warden' }, droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0,
  })) as unknown as Parameters<typeof ProtobufTraceSerializer.serializeRequest>[0];
}

const normal = (spans: ReceivedSpan[]) => spans.map((s) => ({ ...s, status: { code: s.status.code ?? 0, ...(s.status.message && { message: s.status.message }) } }));

describe('OTLP/protobuf encoding', () => {
  const mine = decodeTraceRequest(encodeTraces('warden-test', BATCH));

  it('decodes to the same fields as the SDK serializer gives for the same spans', () => {
    const sdk = decodeTraceRequest(Buffer.from(ProtobufTraceSerializer.serializeRequest(asSdkSpans(mine))!));
    expect(normal(mine)).toEqual(normal(sdk));
  });

  it('writes each request as a root with the agent parent and one child per phase, times exact', () => {
    expect(mine.map((s) => s.name)).toEqual(['warden.request', 'route', 'identify', 'evaluate', 'forward', 'warden.request', 'route', 'identify']);
    const [root, ...kids] = mine.slice(0, 5);
    expect(root).toMatchObject({
      traceId: TRACE_ID, parentSpanId: SPAN_ID, traceState: 'vendor=a,other=b', kind: 2, service: 'warden-test',
      startTimeUnixNano: nanos(T0), endTimeUnixNano: nanos(T0 + 3.25),
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'warden.decision_id': 'd-1', 'warden.outcome': 'allow', 'warden.upstream': 'github' },
    });
    expect(root!.spanId).toMatch(/^[0-9a-f]{16}$/);
    for (const [i, k] of kids.entries()) {
      expect(k).toMatchObject({ traceId: root!.traceId, parentSpanId: root!.spanId, kind: k.name === 'forward' ? 3 : 1, startTimeUnixNano: nanos(FIRST[i]!.startMs), endTimeUnixNano: nanos(FIRST[i]!.endMs!) });
    }
    expect(new Set(mine.map((s) => s.spanId)).size).toBe(mine.length);
  });

  it('starts a fresh trace without a parent, and carries errors, long and non-ASCII strings', () => {
    const [root, route, identify] = mine.slice(5);
    expect(root!.parentSpanId).toBeUndefined();
    expect(root!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root!.traceId).not.toBe(TRACE_ID);
    expect(root).toMatchObject({ startTimeUnixNano: nanos(T0 + 999.9999996), status: { code: 2, message: 'TOKEN_MISSING' }, attributes: { 'warden.decision_id': 'x'.repeat(200), 'warden.upstream': 'äpi-ünicode', 'error.type': 'TOKEN_MISSING' } });
    expect(route!.status.code).toBeUndefined();
    expect(identify).toMatchObject({ status: { code: 2 }, endTimeUnixNano: nanos(T0 + 1001) });
  });

  it('writes times exact to the nanosecond for any millisecond value, fractions rounding up included', () => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff);
    const starts = [T0 + 0.9999996, 2 ** 41 - 1.0000004, 2 ** 21 + 0.5, 1e12 - 0.0000001];
    for (let i = 0; i < 500; i++) starts.push(Math.floor(rand() * 2 ** 41) + Math.round(rand() * 1e7) / 1e7);
    const requests: TraceRecord[] = starts.map((startMs) => ({ ...BATCH[1]!, startMs, endMs: startMs + rand() * 5, phases: recorded([]) }));
    const spans = decodeTraceRequest(encodeTraces('warden-test', requests));
    expect(spans.map((sp) => [sp.startTimeUnixNano, sp.endTimeUnixNano])).toEqual(requests.map((r) => [nanos(r.startMs), nanos(r.endMs)]));
  });

  it('starts each batch empty after take(), and an unencodable request leaves the batch as it was', () => {
    const sab = createRing(1 << 16);
    const packer = new TracePacker(new RingWriter(sab));
    packer.add(BATCH[0]!);
    packer.add(BATCH[0]!);
    packer.add(BATCH[1]!);
    const reader = new RingReader(sab);
    const packed: number[] = [];
    reader.drain((at) => packed.push(at));
    const c = new PackedRequest(reader);
    // The second request's tracestate is refused: it alone is left out.
    let seen = 0;
    const b = new TraceBatch('warden-test', (raw) => {
      if (++seen === 2) throw new Error('bad tracestate');
      return raw;
    });
    b.add(c.read(packed[0]!));
    expect(b.count).toBe(1);
    expect(decodeTraceRequest(b.take()).map((s) => s.name)).toEqual(['warden.request', 'route', 'identify', 'evaluate', 'forward']);
    expect(b.count).toBe(0);
    expect(() => b.add(c.read(packed[1]!))).toThrow('bad tracestate');
    expect(b.count).toBe(0);
    b.add(c.read(packed[2]!));
    expect(b.count).toBe(1);
    const second = decodeTraceRequest(b.take());
    expect(second.map((s) => s.name)).toEqual(['warden.request', 'route', 'identify']);
    expect(second[0]!.attributes['warden.decision_id']).toBe('x'.repeat(200));
  });

  it('reads the traceparent packed unread: one that proves invalid is traced by the ratio, without it or its tracestate', () => {
    // Of the common form's length and with the sampled flag, as the request path packs it unread;
    // invalid for the W3C rules (uppercase, zero ids, version ff).
    const invalid = [`00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`, `00-${'0'.repeat(32)}-${SPAN_ID}-01`, `00-${TRACE_ID}-${'0'.repeat(16)}-01`, `ff-${TRACE_ID}-${SPAN_ID}-01`];
    const requests = invalid.map((parent, i) => ({ ...BATCH[0]!, parent, decisionId: `bad-${i}` }));
    expect(decodeTraceRequest(encodeTraces('warden-test', requests, undefined, 0))).toEqual([]);
    const roots = decodeTraceRequest(encodeTraces('warden-test', requests, undefined, 1)).filter((s) => s.name === 'warden.request');
    expect(roots.map((r) => r.attributes['warden.decision_id'])).toEqual(['bad-0', 'bad-1', 'bad-2', 'bad-3']);
    for (const r of roots) {
      expect(r.parentSpanId).toBeUndefined();
      expect(r.traceState).toBeUndefined();
      expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
    }
    // A valid parent that says not sampled is not traced, whatever the ratio.
    expect(decodeTraceRequest(encodeTraces('warden-test', [{ ...BATCH[0]!, parent: `00-${TRACE_ID}-${SPAN_ID}-00` }], undefined, 1))).toEqual([]);
  });

  it('drops invalid tracestate members as the W3C rules do, and a tracestate left empty', () => {
    const spans = decodeTraceRequest(encodeTraces('warden-test', [{ ...BATCH[0]!, traceState: 'ok=1,BAD KEY=2' }, { ...BATCH[0]!, traceState: 'BAD KEY=2' }]));
    const roots = spans.filter((s) => s.name === 'warden.request');
    expect(roots.map((r) => r.traceState)).toEqual(['ok=1', undefined]);
  });
});
