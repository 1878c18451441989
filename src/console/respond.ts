// How the console answers: HTML or an asset with the security headers, 303 redirects after a
// POST, and the bounded reading of a urlencoded form.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../admin/read-body.js';
import { WardenError } from '../errors.js';
import { SECURITY_HEADERS } from './guard.js';

const MAX_FORM_BYTES = 16 * 1024;

export function sendHtml(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', ...headers });
  res.end(body);
}

/** 303 See Other: the browser GETs `location`, so a reload never resends the form. */
export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end();
}

/** The urlencoded form of a POST; other content types are refused (a form from elsewhere is not ours). */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new WardenError('ADMIN_BAD_REQUEST', 'the console accepts urlencoded forms only');
  return new URLSearchParams((await readBody(req, MAX_FORM_BYTES)).toString('utf8'));
}
