import { TraceFlags } from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';
import { describe, expect, it } from 'vitest';
import { parentToPack, readTraceParent } from '../../../src/observability/trace-parent.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

// Valid and invalid values around every rule of the W3C format (and of OpenTelemetry's parser).
const CASES = [
  `00-${T}-${S}-01`, `00-${T}-${S}-00`, `00-${T}-${S}-03`, `00-${T}-${S}-0f`, `00-${T}-${S}-ff`, `00-${T}-${S}-f0`,
  `01-${T}-${S}-01`, `fe-${T}-${S}-01`, `ff-${T}-${S}-01`, `0f-${T}-${S}-01`, `f0-${T}-${S}-01`,
  `00-${'0'.repeat(32)}-${S}-01`, `00-${T}-${'0'.repeat(16)}-01`, `00-${T.slice(0, -1)}1-${'0'.repeat(15)}1-01`,
  `00-${T.toUpperCase()}-${S}-01`, `00-${T}-${S.toUpperCase()}-01`, `00-${T}-${S}-0A`, `0A-${T}-${S}-01`,
  `00-${T.slice(0, 31)}g-${S}-01`, `00-${T}-${S.slice(0, 15)}z-01`, `00-${T}-${S}-0g`, `g0-${T}-${S}-01`,
  `00_${T}-${S}-01`, `00-${T}_${S}-01`, `00-${T}-${S}_01`, `00-${T}-${S}-1`, `00-${T}${S}-01`,
  ` 00-${T}-${S}-01`, `00-${T}-${S}-01 `, `00-${T}-${S}-01-extra`, `01-${T}-${S}-01-extra`, `01-${T}-${S}-01-`,
  `00-${T}-${S}-01\t`, '', 'garbage', `00-${T}-${S}`,
];

describe('readTraceParent', () => {
  it('accepts and refuses exactly what the OpenTelemetry parser does, with the same ids and sampled flag', () => {
    for (const tp of CASES) {
      const otel = parseTraceParent(tp);
      expect(readTraceParent(tp), tp).toEqual(otel && { traceId: otel.traceId, spanId: otel.spanId, sampled: (otel.traceFlags & TraceFlags.SAMPLED) !== 0 });
    }
  });

  it('reads the common form itself', () => {
    expect(readTraceParent(`00-${T}-${S}-01`)).toEqual({ traceId: T, spanId: S, sampled: true });
    expect(readTraceParent(`00-${T}-${S}-02`)).toEqual({ traceId: T, spanId: S, sampled: false });
    expect(readTraceParent(`00-${'0'.repeat(32)}-${S}-01`)).toBeNull();
  });
});

/** What a traceparent decides, read at once: ids to continue, not sampled, or left to the ratio. */
type Decision = { traceId: string; spanId: string } | 'not sampled' | 'ratio';
const decided = (p: ReturnType<typeof readTraceParent>): Decision => (p ? (p.sampled ? { traceId: p.traceId, spanId: p.spanId } : 'not sampled') : 'ratio');

describe('parentToPack', () => {
  it('with the trace thread reading what it packs, decides every value as reading it at once does', () => {
    for (const tp of CASES) {
      const packed = parentToPack(tp);
      // The trace thread reads a packed value in full (otlp-proto.ts): invalid leaves it to the ratio.
      const thread: Decision = packed === null ? 'not sampled' : packed === undefined ? 'ratio' : decided(packed.length === 55 ? readTraceParent(packed) : null);
      expect(thread, tp).toEqual(decided(readTraceParent(tp)));
    }
  });

  it('packs the common sampled form as sent, unread, and only it', () => {
    const tp = `00-${T}-${S}-01`;
    expect(parentToPack(tp)).toBe(tp);
    expect(parentToPack(`00-${T.toUpperCase()}-${S}-03`)).toBe(`00-${T.toUpperCase()}-${S}-03`);
    expect(parentToPack(`00-${T}-${S}-02`)).toBeNull();
    expect(parentToPack(`01-${T}-${S}-01-extra`)).toBe(tp);
    expect(parentToPack('garbage')).toBeUndefined();
  });
});
