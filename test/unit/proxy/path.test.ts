import { describe, expect, it } from 'vitest';
import { normalizeFully, normalizeRest, parseQuery, splitTarget } from '../../../src/proxy/path.js';

describe('normalizeRest', () => {
  it.each([
    ['', '/'],
    ['/', '/'],
    ['/repos/x', '/repos/x'],
    ['//repos///x', '/repos/x'],
    ['/repos/x/', '/repos/x/'],
    ['/repos/./x', '/repos/x'],
    ['/repos/x/../y', '/repos/y'],
    ['/repos/%2e/x', '/repos/x'],
    ['/repos/x/%2e%2E/y', '/repos/y'],
    ['/repos/%61bc', '/repos/abc'],
    ['/repos/%c3%a9', '/repos/%C3%A9'],
    ['/repos/a%20b', '/repos/a%20b'],
    ['/a:b@c', '/a:b@c'],
  ])('%s → %s', (raw, normalized) => {
    expect(normalizeRest(raw)).toBe(normalized);
  });

  it.each([
    ['/..', 'climbs out'],
    ['/a/../..', 'climbs out'],
    ['/%2e%2e/admin', 'climbs out'],
    ['/a%2fb', 'encoded slash'],
    ['/a%2F..%2Fb', 'encoded slash'],
    ['/a%5cb', 'encoded slash or backslash'],
    ['/a\\b', 'not allowed'],
    ['/a%00', 'control'],
    ['/a%zz', 'malformed'],
    ['/a%4', 'malformed'],
    ['/a b', 'not allowed'],
  ])('refuses %s (%s)', (raw, why) => {
    expect(() => normalizeRest(raw)).toThrow(expect.objectContaining({ code: 'PATH_INVALID', message: expect.stringContaining(why) }));
  });
});

describe('splitTarget and parseQuery', () => {
  it('splits path and query and refuses fragments and absolute forms', () => {
    expect(splitTarget('/a/b?x=1')).toEqual({ rawPath: '/a/b', rawQuery: 'x=1' });
    expect(() => splitTarget('/a#frag')).toThrow(/fragment/);
    expect(() => splitTarget('http://evil/a')).toThrow(/origin-form/);
  });

  it('keeps repeated keys in order and serializes canonically', () => {
    const { query, search } = parseQuery('a=1&b=x%20y&a=2');
    expect(query).toEqual({ a: ['1', '2'], b: ['x y'] });
    expect(search).toBe('?a=1&b=x+y&a=2');
    expect(parseQuery('')).toEqual({ query: {}, search: '' });
  });
});

describe('normalizeRest shortcut for paths already in normal form', () => {
  const outcome = (f: () => string): string => {
    try {
      return `ok ${f()}`;
    } catch (err) {
      return `refused ${(err as { detail?: string }).detail}`;
    }
  };

  it('gives what the full normalization gives, on random paths from the characters that matter', () => {
    const alphabet = ['/', '/', 'a', 'Z', '0', '-', '_', '~', '.', '%', '2', 'e', 'f', ';', ' ', '!', ':', '@', '\\', '%2e', '%2f', '..', '%41'];
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let shortcut = 0;
    for (let i = 0; i < 20_000; i++) {
      let p = '';
      for (let n = rand(12); n > 0; n--) p += alphabet[rand(alphabet.length)];
      if (i % 2 === 0) p = `/${p}`;
      for (const pathParameters of [false, true]) {
        expect(outcome(() => normalizeRest(p, { pathParameters })), JSON.stringify(p)).toBe(outcome(() => normalizeFully(p, { pathParameters })));
      }
      if (/^(\/[A-Za-z0-9\-_~!$&'()*+,=:@]+)+\/?$/.test(p)) shortcut++;
    }
    // Enough of the random paths take the shortcut for the comparison to mean something.
    expect(shortcut).toBeGreaterThan(500);
  });

  it.each(['/a//b', '/a/', '/a/b.', '/a/./b', '/a/%41', '/a;b', '//'])('leaves %s to the full normalization', (p) => {
    expect(outcome(() => normalizeRest(p))).toBe(outcome(() => normalizeFully(p)));
  });
});
