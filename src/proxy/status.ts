// Upstream failures → coded errors, in one small tested function (http-proxy-middleware's
// status-code.ts): timeouts are 504, everything else that kept us from an answer is 502.

import { WardenError } from '../errors.js';

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

export function upstreamError(err: unknown, upstream: string): WardenError {
  const code = (err as { code?: unknown } | null)?.code;
  const codeText = typeof code === 'string' ? code : 'unknown';
  if (TIMEOUT_CODES.has(codeText) || (err as Error | null)?.name === 'TimeoutError') {
    return new WardenError('UPSTREAM_TIMEOUT', `${upstream}: ${codeText}`, { cause: err });
  }
  return new WardenError('UPSTREAM_UNREACHABLE', `${upstream}: ${codeText}`, { cause: err });
}
