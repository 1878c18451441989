import { describe, expect, it } from 'vitest';
import { upstreamError } from '../../../src/proxy/status.js';

describe('upstreamError', () => {
  it.each([
    ['UND_ERR_HEADERS_TIMEOUT', 504, 'UPSTREAM_TIMEOUT'],
    ['UND_ERR_BODY_TIMEOUT', 504, 'UPSTREAM_TIMEOUT'],
    ['UND_ERR_CONNECT_TIMEOUT', 504, 'UPSTREAM_TIMEOUT'],
    ['ECONNREFUSED', 502, 'UPSTREAM_UNREACHABLE'],
    ['ECONNRESET', 502, 'UPSTREAM_UNREACHABLE'],
    ['UND_ERR_SOCKET', 502, 'UPSTREAM_UNREACHABLE'],
    ['ENOTFOUND', 502, 'UPSTREAM_UNREACHABLE'],
    [undefined, 502, 'UPSTREAM_UNREACHABLE'],
  ])('%s → %i', (code, status, wardenCode) => {
    const e = upstreamError(Object.assign(new Error('x'), { code }), 'gh');
    expect(e.status).toBe(status);
    expect(e.code).toBe(wardenCode);
  });
});
