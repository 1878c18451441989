import { describe, expect, it } from 'vitest';
import { readStrictJson, type JsonFault } from '../../../src/proxy/strict-json.js';

const opts = { maxDepth: 8, anyValue: true };
const read = (b: Buffer | string, o = opts) => readStrictJson(typeof b === 'string' ? Buffer.from(b, 'utf8') : b, o);

describe('readStrictJson', () => {
  it.each([
    ['{"a":1,"b":[true,false,null],"c":"x\\"y\\u00e9\\ud83d\\ude00"}'],
    ['[]'], ['{}'], ['  {"a" : { "b" : [ 1 , 2 ] } }  \n'], ['"scalar"'], ['0'], ['-1.5e3'], ['0.0'],
    ['1.0'], ['9007199254740991'], ['-9007199254740991'], ['0.30000000000000004'], ['1e300'], ['5e-324'],
    ['{"a":{"a":1}}'], ['[{"a":1},{"a":2}]'], ['{"é":1,"e\\u0301":2}'],
  ])('reads %s as JSON.parse does', (text) => {
    expect(read(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it.each<[string, Buffer | string, JsonFault]>([
    ['duplicate key', '{"a":1,"a":2}', 'ambiguous'],
    ['duplicate key, one escaped', '{"a":1,"\\u0061":2}', 'ambiguous'],
    ['duplicate nested key', '{"x":[{"tool":"read","tool":"delete"}]}', 'ambiguous'],
    ['integer beyond 2^53', '{"n":9007199254740993}', 'ambiguous'],
    ['exact integer beyond 2^53', '9007199254740992', 'ambiguous'],
    ['overflow', '[1e400]', 'ambiguous'],
    ['negative overflow', '[-1e400]', 'ambiguous'],
    ['underflow', '[1e-400]', 'ambiguous'],
    ['lost digits', '[0.1000000000000000000001]', 'ambiguous'],
    ['negative zero', '[-0]', 'ambiguous'],
    ['negative zero fraction', '[-0.0e5]', 'ambiguous'],
    ['lone high surrogate', '["\\ud800"]', 'ambiguous'],
    ['lone low surrogate', '["\\udc00x"]', 'ambiguous'],
    ['high surrogate then non-low', '["\\ud800\\u0041"]', 'ambiguous'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 'ambiguous'],
    ['overlong UTF-8', Buffer.from([0x5b, 0x22, 0xc0, 0xae, 0x22, 0x5d]), 'ambiguous'],
    ['encoded surrogate (WTF-8)', Buffer.from([0x5b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x5d]), 'ambiguous'],
    ['UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]), 'lenient'],
    ['UTF-16LE with BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"a":1}', 'utf16le')]), 'lenient'],
    ['UTF-16LE without BOM', Buffer.from('{"a":1}', 'utf16le'), 'lenient'],
    ['UTF-16BE', Buffer.from('{"a":1}', 'utf16le').swap16(), 'lenient'],
    ['UTF-32LE', Buffer.from([0x7b, 0, 0, 0, 0x7d, 0, 0, 0]), 'lenient'],
    ['UTF-32BE', Buffer.from([0, 0, 0, 0x5b, 0, 0, 0, 0x5d]), 'lenient'],
    ['trailing data', '{"a":1} x', 'lenient'],
    ['concatenated values', '{"a":1}{"b":2}', 'lenient'],
    ['NaN', '{"a":NaN}', 'lenient'],
    ['Infinity', '[Infinity]', 'lenient'],
    ['-Infinity', '[-Infinity]', 'lenient'],
    ['too deep', '['.repeat(9) + ']'.repeat(9), 'depth'],
    ['unterminated', '{"a":', 'syntax'],
    ['trailing comma', '[1,]', 'syntax'],
    ['single quotes', "{'a':1}", 'syntax'],
    ['leading zero', '[01]', 'syntax'],
    ['raw control character', '["a\tb"]', 'syntax'],
    ['bad escape', '["\\x"]', 'syntax'],
    ['empty', '', 'syntax'],
    ['text', 'hello', 'syntax'],
  ])('%s is %s', (_name, body, fault) => {
    const r = read(body);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.fault).toBe(fault);
  });

  it('allows exactly maxDepth levels of nesting', () => {
    expect(read('['.repeat(8) + ']'.repeat(8)).ok).toBe(true);
  });

  it('treats a non-object, non-array body as not JSON when sniffing', () => {
    expect(read('123', { maxDepth: 8, anyValue: false })).toMatchObject({ ok: false, fault: 'syntax' });
    expect(read('[link](x)', { maxDepth: 8, anyValue: false })).toMatchObject({ ok: false, fault: 'syntax' });
    expect(read(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]), { maxDepth: 8, anyValue: false })).toMatchObject({ ok: false, fault: 'syntax' });
  });

  it('survives a million-deep body without a stack overflow', () => {
    expect(read('['.repeat(1_000_000), { maxDepth: 64, anyValue: true })).toMatchObject({ ok: false, fault: 'depth' });
  });
});
