import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bundleFileDigest } from '../../../src/policy/file-hash.js';
import { globToRegExp } from '../../../src/policy/glob.js';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

describe('bundleFileDigest (OPA bundle/hash.go)', () => {
  it.each([
    // Digests OPA itself wrote into .signatures.json for these files.
    ['data.json', '{"x": 1.0,\n "b": "\\u2028"}', '80783f0354db80984169dc40fa035ab507bb3cf11f8b415fd3cb825ef648425d'],
    ['.manifest', '{"revision":"r1","roots":[""],"wasm":[{"entrypoint":"warden/decision","module":"/policy.wasm"}],"rego_version":1}', sha('{"rego_version":1,"revision":"r1","roots":[""],"wasm":[{"entrypoint":"warden/decision","module":"/policy.wasm"}]}')],
  ])('hashes %s canonically', (name, text, want) => {
    expect(bundleFileDigest(name, Buffer.from(text), 'SHA-256')).toBe(want);
  });

  it.each([
    ['keys sorted as UTF-8 bytes, nested', '{"b":{"z":[1, {"y":null,"a":true}],"a":"x"},"\uff01":1,"\u{1f600}":2}', '{"b":{"a":"x","z":[1,{"a":true,"y":null}]},"\uff01":1,"\u{1f600}":2}'],
    ['number literals kept', '[1e3, -0.50, 2E-1]', '[1e3,-0.50,2E-1]'],
    ['strings re-encoded as Go does', '["\\u0041\\/", "<&>"]', '["A/","<&>"]'],
    ['a repeated key keeps the last value', '{"a":1,"a":2}', '{"a":2}'],
  ])('%s', (_name, text, canonical) => {
    expect(bundleFileDigest('x/data.json', Buffer.from(text), 'SHA-256')).toBe(sha(canonical));
  });

  it('hashes other files as bytes, with the named algorithm', () => {
    expect(bundleFileDigest('policy.rego', Buffer.from(' {"a":1} '), 'SHA-256')).toBe(sha(' {"a":1} '));
    expect(bundleFileDigest('policy.wasm', Buffer.from('x'), 'SHA-512')).toBe(createHash('sha512').update('x').digest('hex'));
  });

  it('refuses bad JSON and unknown algorithms', () => {
    expect(() => bundleFileDigest('data.json', Buffer.from('{"a":}'), 'SHA-256')).toThrow(/invalid JSON/);
    expect(() => bundleFileDigest('data.json', Buffer.from('{} x'), 'SHA-256')).toThrow(/trailing/);
    expect(() => bundleFileDigest('a.rego', Buffer.from(''), 'SHA-3')).toThrow(/unsupported/);
  });
});

describe('globToRegExp (Go filepath.Match)', () => {
  it.each([
    ['*.txt', 'a.txt', true],
    ['*.txt', 'dir/a.txt', false],
    ['dir/*', 'dir/a.txt', true],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['[a-c]x', 'bx', true],
    ['[^a-c]x', 'dx', true],
    ['[^a-c]x', 'ax', false],
    ['a.json', 'aXjson', false],
    ['\\*', '*', true],
  ])('%s matches %s: %s', (pattern, name, want) => {
    expect(globToRegExp(pattern).test(name)).toBe(want);
  });
});
