// The body of an admin-listener request (admin API JSON, console forms), refused past `max` bytes.

import { Buffer } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { WardenError } from '../errors.js';

export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new WardenError('ADMIN_BAD_REQUEST', 'body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
