// The request body, read once and bounded by `policy.max_body_bytes`: the policy needs its digest
// (approvals bind to it) and, for JSON, its parsed form. A body over the limit, or whose
// Content-Length announces one, is refused before it is read in full and is never forwarded.

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WardenError } from '../errors.js';
import type { ClientLink } from './client-link.js';

export interface ReadBody {
  readonly raw: Buffer;
  readonly digest: string;
  readonly contentType: string | undefined;
  readonly isJson: boolean;
  /** Parsed JSON, or null when the body is empty or not JSON. */
  readonly parsed: unknown;
}

const EMPTY = Buffer.alloc(0);
const EMPTY_DIGEST = `sha256:${createHash('sha256').update(EMPTY).digest('hex')}`;

export function isJsonType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const media = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return media === 'application/json' || (media.startsWith('application/') && media.endsWith('+json'));
}

export function readRequestBody(req: IncomingMessage, limit: number, link: ClientLink): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new WardenError('BODY_TOO_LARGE', `content-length ${declared} > ${limit}`));
  if (req.readableEnded) return Promise.resolve(EMPTY);
  if (link.aborted) return Promise.reject(new WardenError('BODY_READ_FAILED', 'client closed the request'));
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

export function describeBody(raw: Buffer, contentType: string | undefined): ReadBody {
  const isJson = isJsonType(contentType);
  const digest = raw.length === 0 ? EMPTY_DIGEST : `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  let parsed: unknown = null;
  if (isJson && raw.length > 0) {
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new WardenError('BODY_INVALID_JSON', (err as Error).message, { cause: err });
    }
  }
  return { raw, digest, contentType, isJson, parsed };
}
