// The request body, read once and bounded by `policy.max_body_bytes`: the policy needs its digest
// (approvals bind to it) and, for JSON, its parsed form. A body over the limit, or whose
// Content-Length announces one, is refused before it is read in full and is never forwarded.

import { Buffer } from 'node:buffer';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { sha256Hex } from '../audit/chain.js';
import { WardenError, assertNever } from '../errors.js';
import type { ClientLink } from './client-link.js';
import { readForm, type Form } from './form.js';
import { readStrictJson } from './strict-json.js';

export interface ReadBody {
  readonly raw: Buffer;
  readonly digest: string;
  readonly contentType: string | undefined;
  /** Parsed JSON (labelled JSON, or an object or array under another type), or null. */
  readonly parsed: unknown;
  /** A URL-encoded form body, parsed. */
  readonly form?: Form;
}

export interface BodyOptions {
  /** Deepest JSON nesting allowed (`policy.max_json_depth`). */
  readonly maxDepth: number;
}

const EMPTY = Buffer.alloc(0);
const EMPTY_DIGEST = `sha256:${sha256Hex(EMPTY)}`;

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^[ \\t]*(${TOKEN})/(${TOKEN})[ \\t]*((?:;[ \\t]*(?:${TOKEN}=(?:${TOKEN}|"(?:[^"\\\\]|\\\\.)*")[ \\t]*)?)*)$`);
const PARAM = new RegExp(`(${TOKEN})=(${TOKEN}|"(?:[^"\\\\]|\\\\.)*")`, 'g');

interface MediaType {
  readonly type: string;
  readonly params: [string, string][];
}

/** RFC 9110 `media-type`, lowercased; undefined when the value is not one. */
export function parseMediaType(value: string): MediaType | undefined {
  const m = MEDIA_TYPE.exec(value);
  if (!m) return undefined;
  const params: [string, string][] = [];
  for (const p of m[3]!.matchAll(PARAM)) {
    const v = p[2]!.startsWith('"') ? p[2]!.slice(1, -1).replace(/\\(.)/g, '$1') : p[2]!;
    params.push([p[1]!.toLowerCase(), v]);
  }
  return { type: `${m[1]}/${m[2]}`.toLowerCase(), params };
}

function isJsonMedia(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}


export function readRequestBody(req: IncomingMessage, limit: number, link: ClientLink): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new WardenError('BODY_TOO_LARGE', `content-length ${declared} > ${limit}`));
  if (req.readableEnded) return Promise.resolve(EMPTY);
  if (link.aborted) return Promise.reject(new WardenError('BODY_READ_FAILED', 'client closed the request'));
  // The whole request has been parsed already (a GET, or a small body that came with the
  // headers): take what is buffered now instead of listening for it.
  if (req.complete) {
    const size = req.readableLength;
    if (size > limit) {
      req.resume(); // drain, but keep nothing
      return Promise.reject(new WardenError('BODY_TOO_LARGE', `body exceeds ${limit} bytes`));
    }
    if (size === 0) return Promise.resolve(EMPTY);
    const buffered = req.read() as Buffer | null;
    if (buffered !== null && buffered.length === size) return Promise.resolve(buffered);
    if (buffered !== null) return Promise.reject(new WardenError('INTERNAL', 'request body read in part'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      stopWatching();
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume(); // drain, but keep nothing
        reject(new WardenError('BODY_TOO_LARGE', `body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new WardenError('BODY_READ_FAILED', err.message, { cause: err }));
    };
    const onAbort = (): void => {
      cleanup();
      reject(new WardenError('BODY_READ_FAILED', 'client closed the request'));
    };
    const stopWatching = link.onAbort(onAbort);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

const unsupported = (why: string): WardenError => new WardenError('BODY_TYPE_UNSUPPORTED', why);

/**
 * The body as the policy sees it. A JSON body (labelled JSON, or an object or array under any
 * other type, which many frameworks parse as JSON whatever the label) is read strictly; a form is
 * parsed into `form`; a body the policy cannot be shown faithfully (multipart, another charset, a
 * Content-Encoding, a malformed type, JSON that parsers read differently) is refused, never
 * forwarded.
 */
export function describeBody(raw: Buffer, headers: IncomingHttpHeaders, opts: BodyOptions): ReadBody {
  const contentType = headers['content-type'];
  if (raw.length === 0) return { raw, digest: EMPTY_DIGEST, contentType, parsed: null };
  const digest = `sha256:${sha256Hex(raw)}`;
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') throw unsupported('content-encoding');
  const media = contentType === undefined ? undefined : parseMediaType(contentType);
  if (contentType !== undefined && media === undefined) throw unsupported('malformed content-type');
  for (const [k, v] of media?.params ?? []) if (k === 'charset' && !/^utf-?8$/i.test(v)) throw unsupported('charset other than UTF-8');
  const type = media?.type;
  if (type?.startsWith('multipart/')) throw unsupported('multipart body');
  // A form is shown as `form`; should it also be a JSON object or array (an upstream that reads
  // its body as JSON whatever the label), the policy sees that reading as `body` too.
  const form = type === 'application/x-www-form-urlencoded' ? { form: readForm(raw) } : undefined;
  const labelled = type !== undefined && isJsonMedia(type);
  const reading = readStrictJson(raw, { maxDepth: opts.maxDepth, anyValue: labelled });
  if (reading.ok) return { raw, digest, contentType, parsed: reading.value, ...form };
  switch (reading.fault) {
    case 'syntax':
      if (!labelled) return { raw, digest, contentType, parsed: null, ...form };
      throw new WardenError('BODY_INVALID_JSON', reading.why);
    case 'lenient':
      // Labelled JSON is plainly invalid; under another label it is JSON that a lenient decoder reads.
      throw new WardenError(labelled ? 'BODY_INVALID_JSON' : 'BODY_AMBIGUOUS', reading.why);
    case 'ambiguous':
      throw new WardenError('BODY_AMBIGUOUS', reading.why);
    case 'depth':
      throw new WardenError('BODY_TOO_DEEP', reading.why);
    default:
      return assertNever(reading.fault);
  }
}
