// OTLP/protobuf encoding of Warden's request traces (ExportTraceServiceRequest of
// opentelemetry/proto/collector/trace/v1, the default encoding of OTLP/HTTP): one resource, one
// scope, per request a `warden.request` server span and one child per phase. Written by hand, not
// with the OpenTelemetry SDK's span objects and serializer: those cost more than the whole 5 %
// budget per traced request (bench/HISTORY.md, issue 14); here a request's spans are written from
// its packed record in the ring (trace-pack.ts) straight into the batch's one buffer (about 600
// bytes), and nothing of it is kept.
// test/unit/observability/otlp-proto.test.ts checks the output field by field against the SDK's
// own serializer.

import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import { TraceState } from '@opentelemetry/core';
import { withRoom } from '../grow-buffer.js';
import { createRing, RingReader, RingWriter } from '../service/spsc-ring.js';
import { PackedRequest, PHASES, S_DECISION_ID, S_ERROR, S_METHOD, S_OUTCOME, S_PARENT, S_TRACE_STATE, S_UPSTREAM, TracePacker, type TraceRecord } from './trace-pack.js';
import { COMMON_LENGTH, readTraceParent, SPAN_ID_AT, TRACE_ID_AT } from './trace-parent.js';

// OTLP enums (opentelemetry/proto/trace/v1/trace.proto).
const KIND_INTERNAL = 1;
const KIND_SERVER = 2;
const KIND_CLIENT = 3;
const STATUS_ERROR = 2;

// Random ids are drawn 64 KB at a time: one CSPRNG call per thousand or so traced requests.
const pool = Buffer.allocUnsafe(65_536);
let poolAt = pool.length;

/** Writes `n` (at most the pool's size) random bytes at `buf[at]`. */
function randomBytes(buf: Buffer, at: number, n: number): void {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  for (let i = 0; i < n; i++) buf[at++] = pool[poolAt++]!;
}

/** 0–15 from a lowercase hex digit. */
const nibble = (c: number): number => (c <= 0x39 ? c - 0x30 : c - 0x57);

/** Writes `ms` (milliseconds since the epoch, sub-millisecond fraction) at `at` as fixed64 nanoseconds, exactly. */
function writeNano(buf: Buffer, at: number, ms: number): void {
  let whole = Math.floor(ms);
  let frac = Math.round((ms - whole) * 1e6);
  if (frac === 1e6) {
    whole++;
    frac = 0;
  }
  // whole * 1e6 + frac exceeds 2^53: split whole (< 2^41) so every product stays exact. The
  // remainders by powers of two are taken as x - floor(x / 2^k) * 2^k, exact in doubles: `%` on
  // a double is a call into C (fmod), and was this function's largest cost.
  const wholeHi = Math.floor(whole / 0x200000);
  const hiPart = wholeHi * 1e6; // (whole >> 21) * 1e6 < 2^40, to be shifted by 21
  const low = (whole - wholeHi * 0x200000) * 1e6 + frac; // < 2^41
  const hiPartHi = Math.floor(hiPart / 0x800);
  const lowHi = Math.floor(low / 0x100000000);
  let lo = (hiPart - hiPartHi * 0x800) * 0x200000 + (low - lowHi * 0x100000000);
  let hi = hiPartHi + lowHi;
  if (lo >= 0x100000000) {
    lo -= 0x100000000;
    hi++;
  }
  buf[at++] = lo & 0xff;
  buf[at++] = (lo >>> 8) & 0xff;
  buf[at++] = (lo >>> 16) & 0xff;
  buf[at++] = lo >>> 24;
  buf[at++] = hi & 0xff;
  buf[at++] = (hi >>> 8) & 0xff;
  buf[at++] = (hi >>> 16) & 0xff;
  buf[at] = hi >>> 24;
}

/** Writes protobuf fields into one growing buffer. */
class Writer {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  room(n: number): void {
    this.buf = withRoom(this.buf, this.pos, n);
  }

  varint(v: number): void {
    this.room(10);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  string(field: number, s: string): void {
    this.tag(field, 2);
    // Short ASCII strings (all of Warden's but an odd upstream name) are copied char by char:
    // cheaper than a call into Buffer's native UTF-8 writer.
    const n = s.length;
    if (n < 0x80) {
      this.room(n + 1);
      const buf = this.buf;
      let at = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[at++] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = at;
        return;
      }
    }
    const bytes = Buffer.byteLength(s);
    this.varint(bytes);
    this.room(bytes);
    this.pos += this.buf.write(s, this.pos);
  }

  /** `bytes` field from the `n` lowercase hex digits at `src[from]` (validated by the W3C trace-context parser). */
  hexBytes(field: number, src: Buffer, from: number, n: number): void {
    n >>= 1;
    this.tag(field, 2);
    this.varint(n);
    this.room(n);
    const buf = this.buf;
    let at = this.pos;
    for (let i = from, end = from + 2 * n; i < end; i += 2) buf[at++] = (nibble(src[i]!) << 4) | nibble(src[i + 1]!);
    this.pos = at;
  }

  /** `bytes` field of fresh random bytes; returns where they are (for the children's parent id). */
  randomId(field: number, n: number): number {
    this.tag(field, 2);
    this.varint(n);
    this.room(n);
    const start = this.pos;
    randomBytes(this.buf, start, n);
    this.pos += n;
    return start;
  }

  /** `bytes` field copied from `src`. */
  bytes(field: number, src: Buffer, from: number, n: number): void {
    this.tag(field, 2);
    this.varint(n);
    this.room(n);
    const buf = this.buf;
    let at = this.pos;
    for (let i = 0; i < n; i++) buf[at++] = src[from + i]!;
    this.pos = at;
  }

  /** fixed64 nanoseconds since the epoch from milliseconds (sub-millisecond fraction), exactly. */
  unixNano(field: number, ms: number): void {
    this.tag(field, 1);
    this.room(8);
    writeNano(this.buf, this.pos, ms);
    this.pos += 8;
  }

  /**
   * Starts a length-delimited field with `reserve` bytes kept for its length (1: under 128 bytes,
   * 2: under 16 KiB); `end` writes the length there, and moves the body only when the guess was wrong.
   * Guessing right matters: a copyWithin() per message was a third of the encoder's time.
   */
  begin(field: number, reserve: 1 | 2 | 3): number {
    this.tag(field, 2);
    this.room(reserve);
    this.pos += reserve;
    return this.pos;
  }

  end(start: number, reserve: 1 | 2 | 3): void {
    const len = this.pos - start;
    if (len >= 0x200000) throw new RangeError('OTLP span too large');
    const size = len < 0x80 ? 1 : len < 0x4000 ? 2 : 3;
    if (size !== reserve) {
      if (size > reserve) this.room(size - reserve);
      this.buf.copyWithin(start - reserve + size, start, this.pos);
      this.pos += size - reserve;
    }
    const buf = this.buf;
    let at = start - reserve;
    let v = len;
    for (let i = 1; i < size; i++) {
      buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[at] = v;
  }

  /** Bytes encoded beforehand (a field with its tag and length). */
  raw(src: Buffer): void {
    const n = src.length;
    this.room(n);
    const buf = this.buf;
    let at = this.pos;
    for (let i = 0; i < n; i++) buf[at++] = src[i]!;
    this.pos = at;
  }
}

/** A string field with its tag and length, encoded once (span names, attribute keys). */
function fieldBytes(field: number, s: string): Buffer {
  const w = new Writer(16 + s.length * 3);
  w.string(field, s);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** An attribute key, as the KeyValue.key field. */
type Key = Buffer;
const key = (k: string): Key => fieldBytes(1, k);

const KEYS = {
  method: key('http.request.method'),
  status: key('http.response.status_code'),
  decisionId: key('warden.decision_id'),
  outcome: key('warden.outcome'),
  upstream: key('warden.upstream'),
  error: key('error.type'),
};
const ROOT_NAME = fieldBytes(5, 'warden.request');

/**
 * A phase span's body as written for every phase of that name, ids and times zero: trace id at 2,
 * span id at 20, parent span id at 30, the name at 38, kind, start and end (fixed64) in the last
 * 18 bytes. Under 128 bytes (a one-byte length). A phase is the template copied and five fields
 * filled in, instead of fourteen fields encoded one by one.
 */
const PHASE_TEMPLATES: readonly Buffer[] = PHASES.map((name) => {
  const name5 = fieldBytes(5, name);
  const body = Buffer.alloc(38 + name5.length + 20);
  body.set([0x0a, 16], 0); // 1: trace_id
  body.set([0x12, 8], 18); // 2: span_id
  body.set([0x22, 8], 28); // 4: parent_span_id
  body.set(name5, 38); // 5: name
  let at = 38 + name5.length;
  body.set([0x30, name === 'forward' ? KIND_CLIENT : KIND_INTERNAL], at); // 6: kind
  body[at + 2] = 0x39; // 7: start_time_unix_nano, fixed64
  body[at + 11] = 0x41; // 8: end_time_unix_nano, fixed64
  return body;
});
/** Span.status with code ERROR and no message. */
const PHASE_ERROR = [0x7a, 0x02, 0x18, STATUS_ERROR] as const;

/** Span.attributes: a KeyValue of `key` and `n` bytes of string at `src[from]`. */
function attribute(w: Writer, key: Key, src: Buffer, from: number, n: number): void {
  const k = key.length;
  const kv = k + 4 + n;
  if (kv >= 0x80) {
    // Over 127 bytes (a long decision id or upstream name): lengths measured as written.
    const at = w.begin(9, 1);
    w.raw(key);
    const any = w.begin(2, 1);
    w.bytes(1, src, from, n);
    w.end(any, 1);
    w.end(at, 1);
    return;
  }
  // Every length fits one byte: the KeyValue's, the AnyValue's and the string's, known up front.
  // Written inline: the same through raw(), tag(), varint() and bytes() took 2.45 against
  // 2.08 µs a request to encode (bench/HISTORY.md, fourteenth session).
  w.room(2 + kv);
  const buf = w.buf;
  let at = w.pos;
  buf[at++] = 0x4a; // 9: attributes
  buf[at++] = kv;
  for (let i = 0; i < k; i++) buf[at++] = key[i]!;
  buf[at++] = 0x12; // KeyValue 2: value
  buf[at++] = n + 2;
  buf[at++] = 0x0a; // AnyValue 1: string_value
  buf[at++] = n;
  for (let i = 0; i < n; i++) buf[at++] = src[from + i]!;
  w.pos = at;
}

function intAttribute(w: Writer, key: Key, value: number): void {
  const kv = w.begin(9, 1);
  w.raw(key);
  const any = w.begin(2, 1);
  w.tag(3, 0);
  w.varint(value);
  w.end(any, 1);
  w.end(kv, 1);
}

const ids = Buffer.alloc(24);

/**
 * The spans of a packed request: a root and a child per phase, as ScopeSpans.spans fields; false
 * (nothing written) when the agent's traceparent proves invalid and `sample()` (the ratio) says no.
 * `traceState` maps the agent's tracestate to what is passed on, and may throw (nothing is written then).
 */
function writeRequest(w: Writer, c: PackedRequest, traceState: (raw: string) => string | undefined, sample: () => boolean): boolean {
  const { bytes: src, from, size, nums } = c;
  // The request path packs a traceparent after a look at its length and flag only
  // (trace-parent.ts, parentToPack): read in full here, one that is not valid leaves the
  // request to the ratio, as having none does.
  let parent = false;
  if (size[S_PARENT]! >= 0) {
    const read = size[S_PARENT] === COMMON_LENGTH ? readTraceParent(c.string(S_PARENT)!) : null;
    if (read?.sampled) parent = true;
    else if (read || !sample()) return false;
  }
  const state = parent && size[S_TRACE_STATE]! >= 0 ? traceState(c.string(S_TRACE_STATE)!) : undefined;
  // The root span: trace id from the agent's context or fresh; its own id is reused as the children's parent.
  // A root span is about 250 bytes: two bytes of length.
  const root = w.begin(2, 2);
  const traceAt = w.pos + 2;
  if (parent) w.hexBytes(1, src, from[S_PARENT]! + TRACE_ID_AT, 32);
  else w.randomId(1, 16);
  const rootIdAt = w.randomId(2, 8);
  if (state) w.string(3, state);
  if (parent) w.hexBytes(4, src, from[S_PARENT]! + SPAN_ID_AT, 16);
  w.raw(ROOT_NAME);
  w.tag(6, 0);
  w.varint(KIND_SERVER);
  const endMs = c.endMs;
  w.unixNano(7, c.startMs);
  w.unixNano(8, endMs);
  attribute(w, KEYS.method, src, from[S_METHOD]!, size[S_METHOD]!);
  intAttribute(w, KEYS.status, c.status);
  attribute(w, KEYS.decisionId, src, from[S_DECISION_ID]!, size[S_DECISION_ID]!);
  attribute(w, KEYS.outcome, src, from[S_OUTCOME]!, size[S_OUTCOME]!);
  if (size[S_UPSTREAM]! >= 0) attribute(w, KEYS.upstream, src, from[S_UPSTREAM]!, size[S_UPSTREAM]!);
  const error = size[S_ERROR]!;
  if (error >= 0) attribute(w, KEYS.error, src, from[S_ERROR]!, error);
  const st = w.begin(15, 1); // Span.status
  if (error >= 0) {
    w.bytes(2, src, from[S_ERROR]!, error);
    w.tag(3, 0);
    w.varint(STATUS_ERROR);
  }
  w.end(st, 1);
  // The trace id and the root's id, kept for the children (closing the root may move its bytes).
  let buf = w.buf;
  for (let i = 0; i < 16; i++) ids[i] = buf[traceAt + i]!;
  for (let i = 0; i < 8; i++) ids[16 + i] = buf[rootIdAt + i]!;
  w.end(root, 2);
  for (let p = 0; p < c.phases; p++) {
    const at = c.phase(p);
    const template = PHASE_TEMPLATES[nums[at]!]!;
    const end = nums[at + 2]!;
    // A phase that never ended threw (Phases.end): it ends with the request, as an error.
    const open = Number.isNaN(end);
    const failed = open || nums[at + 3] === 1;
    const n = template.length;
    w.room(2 + n + (failed ? PHASE_ERROR.length : 0));
    buf = w.buf;
    let pos = w.pos;
    buf[pos++] = 0x12; // ScopeSpans.spans
    buf[pos++] = n + (failed ? PHASE_ERROR.length : 0);
    buf.set(template, pos);
    for (let i = 0; i < 16; i++) buf[pos + 2 + i] = ids[i]!;
    randomBytes(buf, pos + 20, 8);
    for (let i = 0; i < 8; i++) buf[pos + 30 + i] = ids[16 + i]!;
    writeNano(buf, pos + n - 17, nums[at + 1]!);
    writeNano(buf, pos + n - 8, open ? endMs : end);
    pos += n;
    if (failed) for (const b of PHASE_ERROR) buf[pos++] = b;
    w.pos = pos;
  }
  return true;
}

/** The fields before the spans: ResourceSpans.resource (service.name) and ScopeSpans.scope (warden). */
function preamble(serviceName: string): { resource: Buffer; scope: Buffer } {
  const w = new Writer(256);
  const res = w.begin(1, 3); // ResourceSpans.resource
  const kv = w.begin(1, 3); // Resource.attributes
  w.string(1, 'service.name');
  const any = w.begin(2, 3);
  w.string(1, serviceName);
  w.end(any, 3);
  w.end(kv, 3);
  w.end(res, 3);
  const resource = Buffer.from(w.buf.subarray(0, w.pos));
  w.pos = 0;
  const scope = w.begin(1, 1); // ScopeSpans.scope
  w.string(1, 'warden');
  w.end(scope, 1);
  return { resource, scope: Buffer.from(w.buf.subarray(0, w.pos)) };
}

const varintSize = (v: number): number => (v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5);

/** The agent's tracestate as the W3C rules keep it (invalid members dropped); undefined when nothing is left. */
export const w3cTraceState = (raw: string): string | undefined => new TraceState(raw).serialize() || undefined;

/** Buffers kept for the next batches once their export is done (one per export under way, and one). */
const SPARES = 9;

/**
 * Requests' spans, encoded as each request ends into one growing buffer after room for the
 * message's head; `take()` writes the ExportTraceServiceRequest's head right before them and
 * returns the whole without a copy. The caller gives the body back (`recycle`) once it is sent:
 * copying each 256 KiB body into a fresh buffer, and faulting its pages in, was a tenth of the
 * trace thread's time (bench/HISTORY.md, issue 14, fourteenth session).
 */
export class TraceBatch {
  readonly #pre: { resource: Buffer; scope: Buffer };
  readonly #traceState: (raw: string) => string | undefined;
  readonly #sample: () => boolean;
  /** Room kept before the spans for the head: two tags, two lengths (5 bytes each at most), resource and scope. */
  readonly #headRoom: number;
  readonly #w: Writer;
  readonly #spares: Buffer[] = [];
  /** Requests added since the last take(). */
  count = 0;

  /** Bytes of the spans added since the last take(). */
  get bytes(): number {
    return this.#w.pos - this.#headRoom;
  }

  /** `sampleRatio`: the share of requests whose traceparent proves invalid that are traced. */
  constructor(serviceName: string, traceState = w3cTraceState, sampleRatio = 1) {
    this.#pre = preamble(serviceName);
    this.#traceState = traceState;
    this.#sample = () => Math.random() < sampleRatio;
    this.#headRoom = 12 + this.#pre.resource.length + this.#pre.scope.length;
    this.#w = new Writer(16 * 1024);
    this.#w.pos = this.#headRoom;
  }

  /**
   * Encodes the spans of a packed request (with fresh random span, and trace, ids); false when its
   * traceparent proves invalid and the ratio does not sample it. Throws, leaving nothing of it in
   * the batch, when it cannot (a tracestate refused, a span over 2 MiB).
   */
  add(c: PackedRequest): boolean {
    const at = this.#w.pos;
    let written: boolean;
    try {
      written = writeRequest(this.#w, c, this.#traceState, this.#sample);
    } catch (err) {
      this.#w.pos = at;
      throw err;
    }
    if (written) this.count++;
    return written;
  }

  /** The OTLP/protobuf body of the requests added so far; the batch is empty afterwards. */
  take(): Buffer {
    const { resource, scope } = this.#pre;
    const w = this.#w;
    const buf = w.buf;
    const ss = scope.length + w.pos - this.#headRoom; // ResourceSpans.scope_spans
    const rs = resource.length + 1 + varintSize(ss) + ss; // ExportTraceServiceRequest.resource_spans
    const start = this.#headRoom - (1 + varintSize(rs) + resource.length + 1 + varintSize(ss) + scope.length);
    const end = w.pos;
    w.pos = start;
    w.tag(1, 2);
    w.varint(rs);
    resource.copy(buf, w.pos);
    w.pos += resource.length;
    w.tag(2, 2);
    w.varint(ss);
    scope.copy(buf, w.pos);
    // The next batch goes into a spare buffer, at the size this one needed.
    w.buf = this.#spares.pop() ?? Buffer.allocUnsafe(buf.length);
    w.pos = this.#headRoom;
    this.count = 0;
    return buf.subarray(start, end);
  }

  /** Gives back a body that take() returned, once it is sent, for a later batch. */
  recycle(body: Buffer): void {
    // Bodies of 16 KiB and more own their ArrayBuffer (none of Buffer's shared pool): that is the buffer.
    if (this.#spares.length < SPARES && body.buffer.byteLength >= 16 * 1024) this.#spares.push(Buffer.from(body.buffer));
  }
}

/** The OTLP/protobuf body for traced requests, packed and encoded as the trace thread does (tests and benchmarks). */
export function encodeTraces(serviceName: string, records: readonly TraceRecord[], traceState = w3cTraceState, sampleRatio = 1): Buffer {
  const batch = new TraceBatch(serviceName, traceState, sampleRatio);
  const ring = createRing(1 << 20);
  const packer = new TracePacker(new RingWriter(ring));
  const reader = new RingReader(ring);
  const request = new PackedRequest(reader);
  const drain = (): void => void reader.drain((at) => batch.add(request.read(at)));
  for (const r of records) {
    if (packer.add(r)) continue;
    drain();
    if (!packer.add(r)) throw new RangeError('OTLP request too large to pack');
  }
  drain();
  return batch.take();
}
