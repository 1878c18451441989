// Server-Sent Events as MCP's Streamable HTTP uses them: a reader that splits a byte stream into
// events (WHATWG "event stream interpretation": lines end in CRLF, LF or CR; a blank line ends an
// event; `data` lines join with LF), and a rewriter that hands each event's data to a callback and
// passes everything else (ids, event names, retry, comments, priming events) through byte for
// byte. Each event goes out as soon as it is complete, so streaming is never held back.

import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';

export interface SseEvent {
  /** The event's lines as received, without line terminators. */
  readonly lines: readonly string[];
  /** The joined `data` field, or undefined when the event has no data line. */
  readonly data: string | undefined;
  readonly id: string | undefined;
  readonly event: string | undefined;
}

function field(line: string): [string, string] {
  const colon = line.indexOf(':');
  if (colon < 0) return [line, ''];
  const value = line.slice(colon + 1);
  return [line.slice(0, colon), value.startsWith(' ') ? value.slice(1) : value];
}

export function parseEvent(lines: readonly string[]): SseEvent {
  let data: string[] | undefined;
  let id: string | undefined;
  let event: string | undefined;
  for (const line of lines) {
    if (line.startsWith(':')) continue;
    const [name, value] = field(line);
    if (name === 'data') (data ??= []).push(value);
    else if (name === 'id') id = value;
    else if (name === 'event') event = value;
  }
  return { lines, data: data?.join('\n'), id, event };
}

/** Incremental splitter: feed text, get complete events; `maxEventChars` bounds what it buffers. */
export class SseReader {
  #buffer = '';
  #lines: string[] = [];
  #pendingCr = false;
  #size = 0;
  constructor(private readonly maxEventChars: number) {}

  push(text: string): SseEvent[] {
    const out: SseEvent[] = [];
    let s = this.#buffer + text;
    this.#buffer = '';
    if (this.#pendingCr && s.startsWith('\n')) s = s.slice(1); // the LF of a CRLF split across chunks
    this.#pendingCr = false;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#line(s.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < s.length) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else {
          this.#pendingCr = true;
        }
      }
      start = i + 1;
    }
    this.#buffer = s.slice(start);
    if (this.#size + this.#buffer.length > this.maxEventChars) throw new Error('event stream: event too large');
    return out;
  }

  #line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.#lines.length > 0) out.push(parseEvent(this.#lines));
      this.#lines = [];
      this.#size = 0;
      return;
    }
    this.#size += line.length;
    if (this.#size > this.maxEventChars) throw new Error('event stream: event too large');
    this.#lines.push(line);
  }

  /** What is left when the stream ends: an unterminated event is dropped, as a browser does. */
  get pending(): boolean {
    return this.#lines.length > 0 || this.#buffer.length > 0;
  }
}

/** Serialize an event whose data was replaced: other lines keep their place and order. */
export function serializeEvent(ev: SseEvent, data: string): string {
  const out: string[] = [];
  let placed = false;
  for (const line of ev.lines) {
    if (!line.startsWith(':') && field(line)[0] === 'data') {
      if (!placed) for (const d of data.split('\n')) out.push(`data: ${d}`);
      placed = true;
      continue;
    }
    out.push(line);
  }
  return `${out.join('\n')}\n\n`;
}

/**
 * A Transform over an event stream that lets `rewrite` replace the data of each event (return the
 * same string to keep it; it may answer asynchronously: events keep their order). Unchanged events
 * are re-emitted with their original lines.
 */
export function sseRewriter(rewrite: (data: string, ev: SseEvent) => string | Promise<string>, maxEventChars = 16 * 1024 * 1024): Transform {
  const decoder = new StringDecoder('utf8');
  const reader = new SseReader(maxEventChars);
  const emit = async (stream: Transform, events: SseEvent[]): Promise<void> => {
    for (const ev of events) {
      const next = ev.data === undefined ? undefined : await rewrite(ev.data, ev);
      stream.push(next === undefined || next === ev.data ? `${ev.lines.join('\n')}\n\n` : serializeEvent(ev, next));
    }
  };
  const step = (stream: Transform, text: () => string, cb: TransformCallback): void => {
    let events: SseEvent[];
    try {
      events = reader.push(text());
    } catch (err) {
      cb(err as Error);
      return;
    }
    emit(stream, events).then(() => cb(), (err: unknown) => cb(err as Error));
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      step(this, () => decoder.write(chunk), cb);
    },
    flush(cb: TransformCallback) {
      step(this, () => decoder.end(), cb);
    },
  });
}
