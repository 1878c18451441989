// Rewriting what an MCP upstream answers, message by message, in both body forms of Streamable
// HTTP: one JSON body (`application/json`, read whole up to a bound) or an event stream
// (`text/event-stream`, event by event as it arrives, so streaming is never held back). Each
// JSON-RPC message (result, error, notification, server request) goes through `rewrite`, which
// returns it unchanged or a replacement. A body that cannot be read as JSON passes unchanged
// unless `strict`: then the stream fails (the caller cannot answer what it could not check).

import { Buffer } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import type { Awaitable } from '../store/awaitable.js';
import { sseRewriter } from './sse.js';

export type JsonRpcMessage = Record<string, unknown>;
export type MessageRewrite = (msg: JsonRpcMessage) => Awaitable<JsonRpcMessage>;

function isObject(v: unknown): v is JsonRpcMessage {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mediaType(contentType: string | string[] | undefined): string {
  const v = Array.isArray(contentType) ? contentType[0] : contentType;
  return (v ?? '').split(';')[0]!.trim().toLowerCase();
}

export function isEventStream(contentType: string | string[] | undefined): boolean {
  return mediaType(contentType) === 'text/event-stream';
}

async function rewriteText(text: string, rewrite: MessageRewrite, strict: boolean): Promise<string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (strict) throw new Error('MCP response is not JSON', { cause: err });
    return text;
  }
  if (isObject(parsed)) {
    const out = await rewrite(parsed);
    return out === parsed ? text : JSON.stringify(out);
  }
  if (Array.isArray(parsed)) {
    let changed = false;
    const out: unknown[] = [];
    for (const m of parsed) {
      const r = isObject(m) ? await rewrite(m) : m;
      changed ||= r !== m;
      out.push(r);
    }
    return changed ? JSON.stringify(out) : text;
  }
  if (strict) throw new Error('MCP response is not a JSON-RPC message');
  return text;
}

/** Reads a whole JSON body (bounded), rewrites its messages, emits the result once. */
function jsonBodyRewriter(rewrite: MessageRewrite, maxBytes: number, strict: boolean): Transform {
  const chunks: Buffer[] = [];
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      size += chunk.length;
      if (size > maxBytes) {
        cb(new Error('MCP response too large to inspect'));
        return;
      }
      chunks.push(chunk);
      cb();
    },
    flush(cb: TransformCallback) {
      rewriteText(Buffer.concat(chunks).toString('utf8'), rewrite, strict).then(
        (text) => cb(null, Buffer.from(text)),
        (err: unknown) => cb(err as Error),
      );
    },
  });
}

/**
 * The transform for an upstream response of this content type, or undefined when the body is
 * neither JSON nor an event stream (it then passes untouched). A JSON body changes length: the
 * caller drops `content-length`.
 */
export function mcpResponseRewriter(contentType: string | string[] | undefined, rewrite: MessageRewrite, opts: { maxJsonBytes: number; strict: boolean }): Transform | undefined {
  if (isEventStream(contentType)) {
    return sseRewriter(async (data) => {
      if (data.trim() === '') return data; // priming event
      return rewriteText(data, rewrite, false);
    });
  }
  const t = mediaType(contentType);
  if (t === 'application/json' || t.endsWith('+json')) return jsonBodyRewriter(rewrite, opts.maxJsonBytes, opts.strict);
  return undefined;
}
