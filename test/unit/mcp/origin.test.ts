import { describe, expect, it } from 'vitest';
import { normalizeOrigin, originAllowed, requestOriginAllowed } from '../../../src/mcp/origin.js';

describe('originAllowed', () => {
  const allowed = new Set(['https://console.example']);
  it.each([
    [undefined, true],
    ['http://127.0.0.1:8080', true],
    ['http://localhost:3000', true],
    ['http://[::1]:9', true],
    ['http://127.9.9.9', true],
    ['http://app.localhost', true],
    ['https://console.example', true],
    ['HTTPS://Console.Example:443', true],
    ['https://console.example:8443', false],
    ['http://evil.example.com', false],
    ['http://localhost.evil.example', false],
    ['null', false],
    ['file://', false],
    ['not a url', false],
    [['http://127.0.0.1', 'http://127.0.0.1'], false],
  ] as const)('%s → %s', (origin, ok) => {
    expect(originAllowed(origin as string | string[] | undefined, allowed)).toBe(ok);
  });
  it('normalizes', () => {
    expect(normalizeOrigin('HTTP://A.example:80/x')).toBe('http://a.example');
    expect(normalizeOrigin('ftp://a.example')).toBeUndefined();
  });
  it('lets the opaque origin pass only when the browser marks the request same-origin', () => {
    expect(requestOriginAllowed({ origin: 'null', 'sec-fetch-site': 'same-origin' }, allowed)).toBe(true);
    expect(requestOriginAllowed({ origin: 'null', 'sec-fetch-site': 'same-site' }, allowed)).toBe(false);
    expect(requestOriginAllowed({ origin: 'null' }, allowed)).toBe(false);
    expect(requestOriginAllowed({ origin: 'http://evil.example', 'sec-fetch-site': 'same-origin' }, allowed)).toBe(false);
  });
});
