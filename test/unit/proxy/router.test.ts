// Upstream selection by path prefix: longest prefix first, whole segments only, on the raw path
// (an encoded or dotted spelling of a prefix selects nothing).

import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/validate.js';
import { Router } from '../../../src/proxy/router.js';

/** Upstreams as the schema fills them, in the order given (declaration order must not matter). */
function routerOf(prefixes: Record<string, string>): Router {
  const upstreams = Object.fromEntries(Object.entries(prefixes).map(([name, prefix]) => [name, { prefix, url: `http://127.0.0.1:1/${name}` }]));
  return new Router(validateConfig({ admin: { token: '${env:UNUSED}' }, upstreams }).upstreams);
}

describe('Router', () => {
  const router = routerOf({ api: '/api', v2: '/api/v2', gh: '/github', deep: '/a/b/c' });

  it.each([
    ['/api/v2/x', 'v2', '/x'],
    ['/api/v2', 'v2', ''],
    ['/api/v3/x', 'api', '/v3/x'],
    ['/api/v2x', 'api', '/v2x'],
    ['/api', 'api', ''],
    ['/api/', 'api', '/'],
    ['/github/repos/a?x=1', 'gh', '/repos/a?x=1'],
    ['/github//repos', 'gh', '//repos'],
    ['/github/%2e%2e/admin', 'gh', '/%2e%2e/admin'],
    ['/a/b/c/d', 'deep', '/d'],
  ])('%s → %s, rest %j (raw, normalized later)', (path, name, rest) => {
    const r = router.match(path);
    expect(r).toEqual({ name, rest, upstream: expect.objectContaining({ prefix: expect.any(String) }) });
    expect(r!.upstream.url).toBe(`http://127.0.0.1:1/${name}`);
  });

  it.each([
    ['a longer first segment', '/apix'],
    ['a prefix spelled with an encoded letter', '/ap%69/x'],
    ['a prefix spelled in another case', '/API/x'],
    ['a dotted way into a prefix', '/x/../api/x'],
    ['a leading double slash', '//api/x'],
    ['a partial deep prefix', '/a/b'],
    ['the root', '/'],
    ['an empty path', ''],
    ['an absolute-form target', 'http://h/api/x'],
  ])('selects nothing for %s (%s)', (_what, path) => {
    expect(router.match(path)).toBeUndefined();
  });

  it('prefers the longest prefix whatever the declaration order', () => {
    const reversed = routerOf({ v2: '/api/v2', api: '/api' });
    expect(reversed.match('/api/v2/x')!.name).toBe('v2');
    expect(routerOf({ api: '/api', v2: '/api/v2' }).match('/api/v2/x')!.name).toBe('v2');
  });

  it('with no upstreams configured, matches nothing', () => {
    expect(new Router({}).match('/api/x')).toBeUndefined();
  });
});
