// Static assets of the console, served from memory with a strong ETag.

import { createHash } from 'node:crypto';
import { CONSOLE_JS } from './assets/script.js';
import { CONSOLE_CSS } from './assets/style.js';

export interface Asset {
  readonly body: string;
  readonly type: string;
  readonly etag: string;
}

function asset(body: string, type: string): Asset {
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ['console.js', asset(CONSOLE_JS, 'text/javascript; charset=utf-8')],
  ['console.css', asset(CONSOLE_CSS, 'text/css; charset=utf-8')],
]);
