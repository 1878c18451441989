// A protobuf wire-format reader for OTLP trace export requests (field numbers of
// opentelemetry/proto/collector/trace/v1 and trace/v1), for the test receiver: spans with their
// resource's service.name, ids as hex and times as decimal nanosecond strings, as OTLP/JSON gives them.

import type { ReceivedSpan } from './otlp-receiver.js';

type Field = { n: number; wire: number; v: bigint | Buffer };

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[at++];
      if (b === undefined) throw new Error('protobuf: truncated varint');
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const key = Number(varint());
    const n = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ n, wire, v: varint() });
    else if (wire === 1) {
      out.push({ n, wire, v: buf.readBigUInt64LE(at) });
      at += 8;
    } else if (wire === 5) {
      out.push({ n, wire, v: BigInt(buf.readUInt32LE(at)) });
      at += 4;
    } else if (wire === 2) {
      const len = Number(varint());
      if (at + len > buf.length) throw new Error('protobuf: truncated field');
      out.push({ n, wire, v: buf.subarray(at, at + len) });
      at += len;
    } else throw new Error(`protobuf: wire type ${wire}`);
  }
  return out;
}

const all = (fs: Field[], n: number): Buffer[] => fs.filter((f) => f.n === n).map((f) => f.v as Buffer);
const one = (fs: Field[], n: number): Field['v'] | undefined => fs.find((f) => f.n === n)?.v;

function anyValue(buf: Buffer): unknown {
  const fs = fields(buf);
  const s = one(fs, 1);
  if (s !== undefined) return (s as Buffer).toString('utf8');
  const b = one(fs, 2);
  if (b !== undefined) return b === 1n;
  const i = one(fs, 3);
  if (i !== undefined) return Number(BigInt.asIntN(64, i as bigint));
  const d = one(fs, 4);
  return d === undefined ? undefined : (() => { const x = Buffer.alloc(8); x.writeBigUInt64LE(d as bigint); return x.readDoubleLE(); })();
}

function attributes(list: Buffer[]): Record<string, unknown> {
  return Object.fromEntries(list.map((kv) => {
    const fs = fields(kv);
    return [(one(fs, 1) as Buffer).toString('utf8'), anyValue((one(fs, 2) as Buffer | undefined) ?? Buffer.alloc(0))];
  }));
}

/** The spans of an ExportTraceServiceRequest. */
export function decodeTraceRequest(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of all(fields(body), 1)) {
    const rf = fields(rs);
    const resource = one(rf, 1) as Buffer | undefined;
    const service = resource ? attributes(all(fields(resource), 1))['service.name'] : undefined;
    for (const ss of all(rf, 2)) {
      for (const sp of all(fields(ss), 2)) {
        const f = fields(sp);
        const hex = (n: number): string | undefined => (one(f, n) as Buffer | undefined)?.toString('hex') || undefined;
        const status = one(f, 15) as Buffer | undefined;
        const sf = status ? fields(status) : [];
        const code = one(sf, 3);
        const message = one(sf, 2);
        const traceState = (one(f, 3) as Buffer | undefined)?.toString('utf8');
        spans.push({
          traceId: hex(1)!, spanId: hex(2)!, parentSpanId: hex(4), name: (one(f, 5) as Buffer).toString('utf8'), kind: Number(one(f, 6) ?? 0n),
          startTimeUnixNano: String(one(f, 7) ?? 0n), endTimeUnixNano: String(one(f, 8) ?? 0n), attributes: attributes(all(f, 9)),
          status: { ...(code !== undefined && { code: Number(code) }), ...(message !== undefined && { message: (message as Buffer).toString('utf8') }) },
          ...(traceState !== undefined && { traceState }),
          service,
        });
      }
    }
  }
  return spans;
}
