// OTLP/protobuf encoding of Warden's request traces (ExportTraceServiceRequest of
// opentelemetry/proto/collector/trace/v1, the default encoding of OTLP/HTTP): one resource, one
// scope, per request a `warden.request` server span and one child per phase. Written by hand, not
// with the OpenTelemetry SDK's span objects and serializer: those cost more than the whole 5 %
// budget per traced request (bench/HISTORY.md, issue 14); here a request's spans are written, when
// it ends, straight into the batch's one buffer (about 600 bytes), and nothing of it is kept.
// test/unit/observability/otlp-proto.test.ts checks the output field by field against the SDK's
// own serializer.

import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import { withRoom } from '../grow-buffer.js';
import type { PhaseTimes } from './phases.js';

/** What the `warden.request` span says of a request. */
export interface RequestAttributes {
  readonly method: string;
  readonly status: number;
  readonly decisionId: string;
  readonly outcome: string;
  readonly upstream: string | undefined;
  readonly error: string | undefined;
}

/** One traced request, as it ends. */
export interface TracedRequest extends RequestAttributes {
  readonly startMs: number;
  readonly endMs: number;
  readonly phases: PhaseTimes;
  /** The agent's trace context (hex trace id, hex parent span id, tracestate), when it sent one. */
  readonly parent: { readonly traceId: string; readonly spanId: string; readonly traceState: string | undefined } | undefined;
}

// OTLP enums (opentelemetry/proto/trace/v1/trace.proto).
const KIND_INTERNAL = 1;
const KIND_SERVER = 2;
const KIND_CLIENT = 3;
const STATUS_ERROR = 2;

// Random ids are drawn 64 KB at a time: one CSPRNG call per thousand or so traced requests.
const pool = Buffer.allocUnsafe(65_536);
let poolAt = pool.length;

/** 0–15 from a lowercase hex digit. */
const nibble = (c: number): number => (c <= 0x39 ? c - 0x30 : c - 0x57);

/** Writes protobuf fields into one growing buffer. */
class Writer {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  #room(n: number): void {
    this.buf = withRoom(this.buf, this.pos, n);
  }

  varint(v: number): void {
    this.#room(10);
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
      this.#room(n + 1);
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
    this.#room(bytes);
    this.pos += this.buf.write(s, this.pos);
  }

  /** `bytes` field from a hex id (validated by the W3C trace-context parser). */
  hexId(field: number, hex: string): void {
    const n = hex.length >> 1;
    this.tag(field, 2);
    this.varint(n);
    this.#room(n);
    const buf = this.buf;
    let at = this.pos;
    for (let i = 0; i < n; i++) buf[at++] = (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1));
    this.pos = at;
  }

  /** `bytes` field of fresh random bytes; returns where they are (for the children's parent id). */
  randomId(field: number, n: number): number {
    if (poolAt + n > pool.length) {
      randomFillSync(pool);
      poolAt = 0;
    }
    this.tag(field, 2);
    this.varint(n);
    this.#room(n);
    const start = this.pos;
    const buf = this.buf;
    let at = start;
    for (let i = 0; i < n; i++) buf[at++] = pool[poolAt++]!;
    this.pos = at;
    return start;
  }

  /** `bytes` field copied from `src`. */
  bytes(field: number, src: Buffer, from: number, n: number): void {
    this.tag(field, 2);
    this.varint(n);
    this.#room(n);
    const buf = this.buf;
    let at = this.pos;
    for (let i = 0; i < n; i++) buf[at++] = src[from + i]!;
    this.pos = at;
  }

  /** fixed64 nanoseconds since the epoch from milliseconds (sub-millisecond fraction), exactly. */
  unixNano(field: number, ms: number): void {
    this.tag(field, 1);
    this.#room(8);
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
    const buf = this.buf;
    let at = this.pos;
    buf[at++] = lo & 0xff;
    buf[at++] = (lo >>> 8) & 0xff;
    buf[at++] = (lo >>> 16) & 0xff;
    buf[at++] = lo >>> 24;
    buf[at++] = hi & 0xff;
    buf[at++] = (hi >>> 8) & 0xff;
    buf[at++] = (hi >>> 16) & 0xff;
    buf[at++] = hi >>> 24;
    this.pos = at;
  }

  /**
   * Starts a length-delimited field with `reserve` bytes kept for its length (1: under 128 bytes,
   * 2: under 16 KiB); `end` writes the length there, and moves the body only when the guess was wrong.
   * Guessing right matters: a copyWithin() per message was a third of the encoder's time.
   */
  begin(field: number, reserve: 1 | 2 | 3): number {
    this.tag(field, 2);
    this.#room(reserve);
    this.pos += reserve;
    return this.pos;
  }

  end(start: number, reserve: 1 | 2 | 3): void {
    const len = this.pos - start;
    if (len >= 0x200000) throw new RangeError('OTLP span too large');
    const size = len < 0x80 ? 1 : len < 0x4000 ? 2 : 3;
    if (size !== reserve) {
      if (size > reserve) this.#room(size - reserve);
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
    this.#room(n);
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
const PHASE_NAMES = new Map<string, Buffer>();
function phaseName(name: string): Buffer {
  let b = PHASE_NAMES.get(name);
  if (b === undefined) PHASE_NAMES.set(name, (b = fieldBytes(5, name)));
  return b;
}

/** Span.attributes: a KeyValue of `key` and a string or int value (almost always under 128 bytes). */
function attribute(w: Writer, key: Key, value: string | number): void {
  const kv = w.begin(9, 1);
  w.raw(key);
  const any = w.begin(2, 1);
  if (typeof value === 'string') w.string(1, value);
  else {
    w.tag(3, 0);
    w.varint(value);
  }
  w.end(any, 1);
  w.end(kv, 1);
}

function status(w: Writer, code: number, message: string | undefined): void {
  const st = w.begin(15, 1);
  if (message !== undefined) w.string(2, message);
  if (code !== 0) {
    w.tag(3, 0);
    w.varint(code);
  }
  w.end(st, 1);
}

const ids = Buffer.alloc(24);

/** The spans of one request: a root and a child per phase, as ScopeSpans.spans fields. */
function writeRequest(w: Writer, r: TracedRequest): void {
  // The root span: trace id from the agent's context or fresh; its own id is reused as the children's parent.
  // A root span is about 250 bytes: two bytes of length.
  const root = w.begin(2, 2);
  const traceAt = w.pos + 2;
  if (r.parent) w.hexId(1, r.parent.traceId);
  else w.randomId(1, 16);
  const rootIdAt = w.randomId(2, 8);
  if (r.parent?.traceState) w.string(3, r.parent.traceState);
  if (r.parent) w.hexId(4, r.parent.spanId);
  w.raw(ROOT_NAME);
  w.tag(6, 0);
  w.varint(KIND_SERVER);
  w.unixNano(7, r.startMs);
  w.unixNano(8, r.endMs);
  attribute(w, KEYS.method, r.method);
  attribute(w, KEYS.status, r.status);
  attribute(w, KEYS.decisionId, r.decisionId);
  attribute(w, KEYS.outcome, r.outcome);
  if (r.upstream !== undefined) attribute(w, KEYS.upstream, r.upstream);
  if (r.error !== undefined) attribute(w, KEYS.error, r.error);
  status(w, r.error !== undefined ? STATUS_ERROR : 0, r.error);
  // The trace id and the root's id, kept for the children (closing the root may move its bytes).
  for (let i = 0; i < 16; i++) ids[i] = w.buf[traceAt + i]!;
  for (let i = 0; i < 8; i++) ids[16 + i] = w.buf[rootIdAt + i]!;
  w.end(root, 2);
  const { names, times } = r.phases;
  for (let p = 0; p < names.length; p++) {
    const name = names[p]!;
    const end = times[3 * p + 1]!;
    // A phase that never ended threw (Phases.end): it ends with the request, as an error.
    const open = Number.isNaN(end);
    // A phase's span is about 70 bytes: one byte of length.
    const span = w.begin(2, 1);
    w.bytes(1, ids, 0, 16);
    w.randomId(2, 8);
    w.bytes(4, ids, 16, 8);
    w.raw(phaseName(name));
    w.tag(6, 0);
    w.varint(name === 'forward' ? KIND_CLIENT : KIND_INTERNAL);
    w.unixNano(7, times[3 * p]!);
    w.unixNano(8, open ? r.endMs : end);
    if (open || times[3 * p + 2] === 1) status(w, STATUS_ERROR, undefined);
    w.end(span, 1);
  }
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

/**
 * Requests' spans, encoded as each request ends into one growing buffer; `take()` returns the
 * ExportTraceServiceRequest around them and starts over.
 */
export class TraceBatch {
  readonly #pre: { resource: Buffer; scope: Buffer };
  #w = new Writer(16 * 1024);
  /** Requests added since the last take(). */
  count = 0;

  /** Bytes of the spans added since the last take(). */
  get bytes(): number {
    return this.#w.pos;
  }

  constructor(serviceName: string) {
    this.#pre = preamble(serviceName);
  }

  /** Encodes the spans of one request (with fresh random span, and trace, ids). */
  add(r: TracedRequest): void {
    const at = this.#w.pos;
    try {
      writeRequest(this.#w, r);
    } catch (err) {
      // A request that cannot be encoded leaves nothing half-written in the batch.
      this.#w.pos = at;
      throw err;
    }
    this.count++;
  }

  /** The OTLP/protobuf body of the requests added so far; the batch is empty afterwards. */
  take(): Buffer {
    const { resource, scope } = this.#pre;
    const spans = this.#w.buf.subarray(0, this.#w.pos);
    const ss = scope.length + spans.length; // ResourceSpans.scope_spans
    const rs = resource.length + 1 + varintSize(ss) + ss; // ExportTraceServiceRequest.resource_spans
    const w = new Writer(1 + varintSize(rs) + rs);
    w.tag(1, 2);
    w.varint(rs);
    resource.copy(w.buf, w.pos);
    w.pos += resource.length;
    w.tag(2, 2);
    w.varint(ss);
    scope.copy(w.buf, w.pos);
    w.pos += scope.length;
    spans.copy(w.buf, w.pos);
    w.pos += spans.length;
    // The span buffer is kept for the next batch, at the size this one needed.
    this.#w.pos = 0;
    this.count = 0;
    return w.buf.subarray(0, w.pos);
  }
}

/** The OTLP/protobuf body for a batch of traced requests, with fresh random span (and trace) ids. */
export function encodeTraces(serviceName: string, batch: readonly TracedRequest[]): Buffer {
  const b = new TraceBatch(serviceName);
  for (const r of batch) b.add(r);
  return b.take();
}
