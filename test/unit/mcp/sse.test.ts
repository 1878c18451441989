import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { SseReader, serializeEvent, sseRewriter } from '../../../src/mcp/sse.js';

async function rewrite(chunks: string[], fn: (d: string) => string): Promise<string> {
  return text(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(sseRewriter(fn)));
}

describe('SseReader', () => {
  it('splits events on blank lines with any line ending, across chunks', () => {
    const r = new SseReader(1000);
    const got = [...r.push('id: 1\r\ndata: {"a"'), ...r.push(':1}\r'), ...r.push('\n\r\nevent: x\rdata: a\rdata: b\r\r'), ...r.push('data: tail')];
    expect(got.map((e) => [e.id, e.event, e.data])).toEqual([
      ['1', undefined, '{"a":1}'],
      [undefined, 'x', 'a\nb'],
    ]);
    expect(r.pending).toBe(true);
  });
  it('keeps comments and priming events (id, empty data) as events without changing them', () => {
    const r = new SseReader(1000);
    const [prime, comment] = r.push('id: p\ndata:\n\n: keep-alive\n\n');
    expect(prime).toMatchObject({ id: 'p', data: '' });
    expect(comment).toMatchObject({ data: undefined, lines: [': keep-alive'] });
  });
  it('refuses an event larger than the limit', () => {
    const r = new SseReader(10);
    expect(() => r.push('data: 0123456789abc')).toThrow(/too large/);
  });
});

describe('sseRewriter', () => {
  it('passes unchanged events through and rewrites data in place', async () => {
    const out = await rewrite(['retry: 500\nid: 7\nevent: message\n', 'data: {"x":1}\n\n', ': ping\n\n', 'data: {"y":2}\n\n'], (d) => (d.includes('"x"') ? '{"x":2}\n{"more":1}' : d));
    expect(out).toBe('retry: 500\nid: 7\nevent: message\ndata: {"x":2}\ndata: {"more":1}\n\n: ping\n\ndata: {"y":2}\n\n');
  });
  it('handles a multi-byte character split across chunks', async () => {
    const bytes = Buffer.from('data: "é"\n\n');
    const out = await text(Readable.from([bytes.subarray(0, 8), bytes.subarray(8)]).pipe(sseRewriter((d) => d)));
    expect(out).toBe('data: "é"\n\n');
  });
  it('serializeEvent keeps the other lines in order', () => {
    expect(serializeEvent({ lines: ['id: 1', 'data: a', 'data: b', 'event: e'], data: 'a\nb', id: '1', event: 'e' }, 'z')).toBe('id: 1\ndata: z\nevent: e\n\n');
  });
});
